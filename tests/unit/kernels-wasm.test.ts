// The kernel checks with the WebAssembly kernels only (MMRUN_NATIVE_KERNELS=0: no C compiler, or
// the user turned them off); see kernels-suite.ts.
import { kernelSuite } from './kernels-suite.ts';

kernelSuite('wasm');
