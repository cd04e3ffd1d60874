// mmrun's kernels for training on tfjs's wasm backend: the gradient kernels it lacks or gets
// wrong, and faster replacements where the built-in ones bound a training step.
import { batchMatMul } from './batch-mat-mul.ts';
import { broadcastTo } from './broadcast-to.ts';
import { conv2D, fusedConv2D } from './conv2d.ts';
import { conv2DBackpropFilter } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInput } from './conv2d-backprop-input.ts';
import { maxPoolGrad } from './max-pool-grad.ts';
import { provide } from './registry.ts';
import { sum } from './sum.ts';
import { gatherV2 } from './gather-v2.ts';
import { splitV } from './split-v.ts';
import { cast } from './cast.ts';
import { ADAM_UPDATE, adamUpdate } from './adam-update.ts';
import { LAYER_NORM, LAYER_NORM_GRAD, layerNorm, layerNormGrad } from './layer-norm.ts';
import { ATTENTION, ATTENTION_GRAD, attention, attentionGrad } from './attention.ts';
import { ATTENTION_PACKED, ATTENTION_PACKED_GRAD, attentionPacked, attentionPackedGrad } from './attention-packed.ts';
import { add, multiply, realDiv, sub } from './binary.ts';
import { identity } from './identity.ts';
import { fusedMatMul } from './fused-mat-mul.ts';
import { RELU_GRAD, reluGrad } from './relu-grad.ts';
import { RELU_BIAS_GRAD, reluBiasGrad } from './relu-bias-grad.ts';
import { CONV_BIAS_RELU, convBiasRelu } from './conv-bias-relu.ts';
import { DENSE, dense } from './dense.ts';
import { exp } from './exp.ts';
import { transpose } from './transpose.ts';
import { unsortedSegmentSum } from './unsorted-segment-sum.ts';
import {
  BATCH_NORM, BATCH_NORM_GRAD, BATCH_NORM_RELU_POOL, BATCH_NORM_RELU_POOL_GRAD, batchNorm, batchNormGrad, batchNormReluPool, batchNormReluPoolGrad, registerBatchNormGradient,
} from './batch-norm.ts';

export const TRAINING_KERNELS = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
  BroadcastTo: broadcastTo,
  Conv2D: conv2D,
  FusedConv2D: fusedConv2D,
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  MaxPoolGrad: maxPoolGrad,
  UnsortedSegmentSum: unsortedSegmentSum,
  GatherV2: gatherV2,
  SplitV: splitV,
  Sum: sum,
  Cast: cast,
  Identity: identity,
  Exp: exp,
  Transpose: transpose,
  Add: add,
  Sub: sub,
  Multiply: multiply,
  RealDiv: realDiv,
  [ADAM_UPDATE]: adamUpdate,
  [LAYER_NORM]: layerNorm,
  [LAYER_NORM_GRAD]: layerNormGrad,
  [ATTENTION]: attention,
  [ATTENTION_GRAD]: attentionGrad,
  [ATTENTION_PACKED]: attentionPacked,
  [ATTENTION_PACKED_GRAD]: attentionPackedGrad,
  [RELU_GRAD]: reluGrad,
  [RELU_BIAS_GRAD]: reluBiasGrad,
  [CONV_BIAS_RELU]: convBiasRelu,
  [DENSE]: dense,
  [BATCH_NORM]: batchNorm,
  [BATCH_NORM_GRAD]: batchNormGrad,
  [BATCH_NORM_RELU_POOL]: batchNormReluPool,
  [BATCH_NORM_RELU_POOL_GRAD]: batchNormReluPoolGrad,
};

/** Registers every kernel above on the wasm backend (idempotent; call before or after it starts). */
export function registerTrainingKernels(): void {
  for (const [name, fn] of Object.entries(TRAINING_KERNELS)) provide(name, fn);
  registerBatchNormGradient();
}
