// Transformer encoder text branch (pre-LN): token + position embeddings, N layers of multi-head
// self-attention and MLP, final layer norm, mean or [CLS] pooling, then a linear map into the
// projection's input width. Heads are handled by batched matmuls, not a loop, to keep the
// number of kernels per step low. With mmrun's native kernels and mean pooling, only the real
// tokens are computed: they are packed row after row, without padding rows (packTokens).
import * as tf from '@tensorflow/tfjs-core';
import type { TextBranch } from '../config/types.gen.ts';
import { fusedAttention, fusedAttentionAvailable } from './backend/ops/attention.ts';
import { packedAttention, packedAttentionAvailable } from './backend/ops/packed-attention.ts';
import { createDense, createLayerNorm, dense, dropout, layerNorm, type Dense, type ForwardContext, type LayerNorm } from './layers.ts';
import type { ParamStore } from './params.ts';
import { PAD } from './tokenizer.ts';

interface EncoderLayer {
  ln1: LayerNorm;
  qkv: Dense;
  attnOut: Dense;
  ln2: LayerNorm;
  mlpIn: Dense;
  mlpOut: Dense;
}

export interface TextBranchModel {
  /** ids: [B, L] token ids ([PAD] = 0) → [B, outDim]. */
  forward(ids: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D;
}

/** Self-attention on qkv [B*L, 3W] → [B*L, W] with tfjs ops; keyBias [B, 1, 1, L]. */
function compositeAttention(keyBias: tf.Tensor, B: number, L: number, H: number, D: number, scale: number): (qkv: tf.Tensor2D) => tf.Tensor2D {
  return (projected) => {
    const qkv = tf.transpose(tf.reshape(projected, [B, L, 3 * H, D]), [0, 2, 1, 3]);
    const [q, k, v] = tf.split(qkv, 3, 1) as tf.Tensor4D[]; // each [B, H, L, D]
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), keyBias);
    const attended = tf.matMul(tf.softmax(scores), v); // [B, H, L, D]
    return tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [B * L, H * D]) as tf.Tensor2D;
  };
}

/** The real (non-[PAD]) tokens of a batch, sequence after sequence, with no padding rows. */
interface PackedTokens {
  ids: Int32Array;
  /** Position of each packed token in its padded sequence. */
  positions: Int32Array;
  /** offsets[b] .. offsets[b+1]-1: the rows of sequence b. */
  offsets: Int32Array;
  lengths: number[];
}

function packTokens(ids: tf.Tensor2D): PackedTokens {
  const [B, L] = ids.shape;
  const data = ids.dataSync();
  const offsets = new Int32Array(B + 1);
  const lengths: number[] = [];
  let rows = 0;
  for (let i = 0; i < data.length; i++) if (data[i] !== PAD) rows++;
  const packedIds = new Int32Array(rows);
  const positions = new Int32Array(rows);
  let r = 0;
  for (let b = 0; b < B; b++) {
    offsets[b] = r;
    for (let l = 0; l < L; l++) {
      const id = data[b * L + l];
      if (id === PAD) continue;
      packedIds[r] = id;
      positions[r++] = l;
    }
    lengths.push(r - offsets[b]);
  }
  offsets[B] = r;
  return { ids: packedIds, positions, offsets, lengths };
}

/**
 * Padding rows only feed padding rows (their keys get no attention weight, mean pooling drops
 * them), so with mmrun's native kernels the branch packs the real tokens and computes no row for
 * [PAD] (MMRUN_TEXT_PACKING=0 keeps the padded layout, e.g. to measure the difference). [CLS]
 * pooling keeps the padded layout: an all-padding text pools its first (padding) row.
 */
function packingApplies(cfg: TextBranch, headWidth: number): boolean {
  return cfg.pooling !== 'cls' && process.env.MMRUN_TEXT_PACKING !== '0' && packedAttentionAvailable(headWidth);
}

export function createTextBranch(ps: ParamStore, cfg: TextBranch, vocabSize: number, outDim: number): TextBranchModel {
  const W = cfg.width;
  const H = cfg.heads;
  if (W % H !== 0) throw new Error(`model.text.heads (${H}) must divide model.text.width (${W})`);
  const D = W / H;
  const tokenEmb = ps.create('text', 'text/token_embedding', [vocabSize, W], { kind: 'normal', std: 0.02 });
  const posEmb = ps.create('text', 'text/position_embedding', [cfg.max_len, W], { kind: 'normal', std: 0.02 });
  const layers: EncoderLayer[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const n = `text/layer${i}`;
    layers.push({
      ln1: createLayerNorm(ps, 'text', `${n}/ln1`, W),
      qkv: createDense(ps, 'text', `${n}/qkv`, W, 3 * W, false),
      attnOut: createDense(ps, 'text', `${n}/attn_out`, W, W, false),
      ln2: createLayerNorm(ps, 'text', `${n}/ln2`, W),
      mlpIn: createDense(ps, 'text', `${n}/mlp_in`, W, cfg.mlp, true),
      mlpOut: createDense(ps, 'text', `${n}/mlp_out`, cfg.mlp, W, false),
    });
  }
  const finalLn = createLayerNorm(ps, 'text', 'text/ln_final', W);
  const out = createDense(ps, 'text', 'text/out', W, outDim, false);
  const scale = 1 / Math.sqrt(D);

  const encode = (x: tf.Tensor2D, attend: (qkv: tf.Tensor2D) => tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D => {
    for (const layer of layers) {
      const merged = attend(dense(layerNorm(x, layer.ln1), layer.qkv));
      x = tf.add(x, dropout(dense(merged, layer.attnOut), cfg.dropout, ctx));
      const hidden = dense(layerNorm(x, layer.ln2), layer.mlpIn, true);
      x = tf.add(x, dropout(dense(hidden, layer.mlpOut), cfg.dropout, ctx));
    }
    return layerNorm(x, finalLn);
  };

  /** The same function on packed rows: every row is a real token; mean pooling per sequence. */
  const packedForward = (p: PackedTokens, B: number, ctx: ForwardContext): tf.Tensor2D => {
    const rows = p.ids.length;
    const tokens = tf.gather(tokenEmb, tf.tensor1d(p.ids, 'int32'));
    const positions = tf.gather(posEmb, tf.tensor1d(p.positions, 'int32'));
    const x = dropout(tf.add(tokens, positions) as tf.Tensor2D, cfg.dropout, ctx);
    const offsets = tf.tensor1d(p.offsets, 'int32');
    const states = encode(x, (qkv) => packedAttention(qkv, offsets, p.lengths, H, D, scale), ctx);
    // Mean over each sequence's rows as one product: average[b, r] = 1 / length of b for its rows.
    const average = new Float32Array(B * rows);
    for (let b = 0; b < B; b++) for (let r = p.offsets[b]; r < p.offsets[b + 1]; r++) average[b * rows + r] = 1 / p.lengths[b];
    return dense(tf.matMul(tf.tensor2d(average, [B, rows]), states), out);
  };

  return {
    forward(ids, ctx) {
      const [B, L] = ids.shape;
      if (packingApplies(cfg, D)) {
        const packed = packTokens(ids);
        if (packed.ids.length > 0) return packedForward(packed, B, ctx);
      }
      const mask = tf.cast(tf.notEqual(ids, PAD), 'float32'); // [B, L]
      // -1e9 on padding keys so softmax gives them no weight.
      const keyBias = tf.mul(tf.sub(1, mask), -1e9) as tf.Tensor2D; // [B, L]
      // One native kernel each way on mmrun's wasm path (same arithmetic); the composite elsewhere.
      const attend = fusedAttentionAvailable()
        ? (qkv: tf.Tensor2D) => fusedAttention(qkv, keyBias, B, L, H, D, scale)
        : compositeAttention(tf.reshape(keyBias, [B, 1, 1, L]), B, L, H, D, scale);
      const tokens = tf.reshape(tf.gather(tokenEmb, tf.reshape(ids, [-1])), [B, L, W]);
      const positions = L === cfg.max_len ? posEmb : tf.slice(posEmb, [0, 0], [L, W]);
      let x: tf.Tensor2D = tf.reshape(tf.add(tokens, positions), [B * L, W]);
      x = dropout(x, cfg.dropout, ctx);
      const states = tf.reshape(encode(x, attend, ctx), [B, L, W]);
      let pooled: tf.Tensor2D;
      if (cfg.pooling === 'cls') {
        pooled = tf.reshape(tf.slice(states, [0, 0, 0], [B, 1, W]), [B, W]);
      } else {
        const m = tf.reshape(mask, [B, L, 1]);
        pooled = tf.div(tf.sum(tf.mul(states, m), 1), tf.maximum(tf.sum(m, 1), 1));
      }
      return dense(pooled, out);
    },
  };
}
