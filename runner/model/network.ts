// The multimodal network: image branch and text branch, each mapped to the projection width, the
// shared projection layers both feed into, and the classifier head(s).
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../config/types.gen.ts';
import { registerGradients } from './gradients.ts';
import { createImageBranch, type ImageBranchModel } from './image-branch.ts';
import { createDense, dense, l2Normalize, type Dense, type ForwardContext } from './layers.ts';
import { crossEntropy, infoNce } from './losses.ts';
import { ParamStore, type Part } from './params.ts';
import { Rng } from '../random.ts';
import { createTextBranch, type TextBranchModel } from './text-branch.ts';

export interface NetworkOptions {
  model: Model; // presets resolved
  imageShape: readonly [number, number, number];
  numClasses: number;
  vocabSize: number;
  temperature: number; // initial InfoNCE temperature
  seed: number;
}

export interface LossWeights {
  image: number;
  text: number;
  align: number;
}

export interface Batch {
  images: tf.Tensor4D; // [B, H, W, C] in [0, 1]
  tokens: tf.Tensor2D; // [B, L] int32, texts paired row by row with images
  imageLabels: tf.Tensor2D; // one-hot [B, C]
  textLabels: tf.Tensor2D; // one-hot [B, C]
  /**
   * augmentation.pairing 'class': the InfoNCE positives [B, L], row j paired with image j,
   * while `tokens` feed only the text classification loss. Absent: `tokens` serve both.
   */
  alignTokens?: tf.Tensor2D;
}

export interface LossTerms {
  total: tf.Scalar;
  image?: tf.Scalar;
  text?: tf.Scalar;
  align?: tf.Scalar;
}

export { registerGradients };

export class Network {
  readonly params: ParamStore;
  readonly logScale: tf.Variable;
  private readonly image: ImageBranchModel;
  private readonly text: TextBranchModel;
  private readonly projection: Dense[];
  private readonly imageHead: Dense;
  private readonly textHead: Dense;
  private readonly headInputScale: number;

  constructor(readonly opts: NetworkOptions) {
    const { model } = opts;
    const dim = model.projection.dim;
    this.params = new ParamStore(Rng.derive(opts.seed, 'init'));
    this.image = createImageBranch(this.params, model.image, opts.imageShape, dim);
    this.text = createTextBranch(this.params, model.text, opts.vocabSize, dim);
    this.projection = [];
    for (let i = 0; i < Math.max(1, model.projection.layers); i++) {
      this.projection.push(createDense(this.params, 'projection', `projection/${i}`, dim, dim, i < model.projection.layers - 1));
    }
    if (model.head === 'shared') {
      this.imageHead = this.textHead = createDense(this.params, 'head', 'head/shared', dim, opts.numClasses, false);
    } else {
      this.imageHead = createDense(this.params, 'head', 'head/image', dim, opts.numClasses, false);
      this.textHead = createDense(this.params, 'head', 'head/text', dim, opts.numClasses, false);
    }
    this.logScale = this.params.create('align', 'align/log_scale', [], { kind: 'constant', value: Math.log(1 / opts.temperature) });
    // Unit-norm embeddings give logits too small for a confident softmax until the head's
    // weights grow; a fixed √dim scale (a cosine classifier) avoids that slow start.
    this.headInputScale = model.projection.normalize ? Math.sqrt(dim) : 1;
  }

  private project(x: tf.Tensor2D): tf.Tensor2D {
    let z = x;
    this.projection.forEach((layer, i) => {
      z = dense(z, layer, i < this.projection.length - 1);
    });
    return this.opts.model.projection.normalize ? l2Normalize(z) : z;
  }

  /** Shared-space embeddings of images. */
  embedImages(images: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D {
    return this.project(this.image.forward(images, ctx));
  }

  /** Shared-space embeddings of token-id rows. */
  embedTexts(tokens: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    return this.project(this.text.forward(tokens, ctx));
  }

  imageLogits(embedding: tf.Tensor2D): tf.Tensor2D {
    return dense(this.scaleForHead(embedding), this.imageHead);
  }

  textLogits(embedding: tf.Tensor2D): tf.Tensor2D {
    return dense(this.scaleForHead(embedding), this.textHead);
  }

  private scaleForHead(z: tf.Tensor2D): tf.Tensor2D {
    return this.headInputScale === 1 ? z : tf.mul(z, this.headInputScale);
  }

  /** The weighted loss of one batch; terms with weight 0 are not computed at all. */
  losses(batch: Batch, weights: LossWeights, ctx: ForwardContext): LossTerms {
    const needImage = weights.image > 0 || weights.align > 0;
    const needText = weights.text > 0 || weights.align > 0;
    const zi = needImage ? this.embedImages(batch.images, ctx) : undefined;
    const zt = needText ? this.embedTexts(batch.tokens, ctx) : undefined;
    const terms: Omit<LossTerms, 'total'> = {};
    const weighted: tf.Scalar[] = [];
    if (weights.image > 0 && zi) {
      terms.image = crossEntropy(this.imageLogits(zi), batch.imageLabels);
      weighted.push(tf.mul(terms.image, weights.image));
    }
    if (weights.text > 0 && zt) {
      terms.text = crossEntropy(this.textLogits(zt), batch.textLabels);
      weighted.push(tf.mul(terms.text, weights.text));
    }
    if (weights.align > 0 && zi && zt) {
      const normalized = this.opts.model.projection.normalize;
      const za = batch.alignTokens ? this.embedTexts(batch.alignTokens, ctx) : zt;
      terms.align = infoNce(normalized ? zi : l2Normalize(zi), normalized ? za : l2Normalize(za), this.logScale);
      weighted.push(tf.mul(terms.align, weights.align));
    }
    const total = weighted.length === 0 ? tf.scalar(0) : weighted.length === 1 ? weighted[0] : (tf.addN(weighted) as tf.Scalar);
    return { total, ...terms };
  }

  /** Variables a phase may train: trainable, not in a frozen part, and used by a loss term. */
  trainableVariables(frozen: ReadonlySet<Part>, weights: LossWeights): tf.Variable[] {
    const skip = new Set<Part>(frozen);
    if (weights.align <= 0) skip.add('align');
    if (weights.text <= 0 && weights.align <= 0) skip.add('text');
    if (weights.image <= 0 && weights.align <= 0) skip.add('image');
    let vars = this.params.trainableVariables(skip);
    if (this.opts.model.head === 'separate') {
      const unusedHeads = new Set<string>();
      if (weights.image <= 0) unusedHeads.add('head/image/');
      if (weights.text <= 0) unusedHeads.add('head/text/');
      const names = new Set(this.params.params.filter((p) => [...unusedHeads].some((h) => p.name.startsWith(h))).map((p) => p.variable.name));
      vars = vars.filter((v) => !names.has(v.name));
    }
    return vars;
  }

  dispose(): void {
    this.params.dispose();
  }
}
