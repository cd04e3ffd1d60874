// Exact resume on wasm with mmrun's native kernels in use (see train-resume-backends-suite.ts).
import { resumeSuite } from './train-resume-backends-suite.ts';

resumeSuite('native');
