// Exact resume on wasm with the WebAssembly kernels only, MMRUN_NATIVE_KERNELS=0 (see
// train-resume-backends-suite.ts).
import { resumeSuite } from './train-resume-backends-suite.ts';

resumeSuite('wasm');
