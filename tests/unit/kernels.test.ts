// The kernel checks with mmrun's native kernels in use (see kernels-suite.ts).
import { kernelSuite } from './kernels-suite.ts';

kernelSuite('native');
