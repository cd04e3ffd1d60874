// The fused batch norm with the WebAssembly/JavaScript kernels only (MMRUN_NATIVE_KERNELS=0); see
// kernels-batch-norm-suite.ts.
import { batchNormSuite } from './kernels-batch-norm-suite.ts';

batchNormSuite('wasm');
