// Transformer encoder text branch (pre-LN): token + position embeddings, N layers of multi-head
// self-attention and MLP, final layer norm, mean or [CLS] pooling, then a linear map into the
// projection's input width. Heads are handled by batched matmuls, not a loop, to keep the
// number of kernels per step low.
import * as tf from '@tensorflow/tfjs-core';
import type { TextBranch } from '../config/types.gen.ts';
import { fusedAttention, fusedAttentionAvailable } from './backend/ops/attention.ts';
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

  return {
    forward(ids, ctx) {
      const [B, L] = ids.shape;
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
      for (const layer of layers) {
        const merged = attend(dense(layerNorm(x, layer.ln1), layer.qkv));
        x = tf.add(x, dropout(dense(merged, layer.attnOut), cfg.dropout, ctx));
        const hidden = dense(layerNorm(x, layer.ln2), layer.mlpIn, true);
        x = tf.add(x, dropout(dense(hidden, layer.mlpOut), cfg.dropout, ctx));
      }
      const states = tf.reshape(layerNorm(x, finalLn), [B, L, W]);
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
