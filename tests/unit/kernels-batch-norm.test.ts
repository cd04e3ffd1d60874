// The fused batch norm with mmrun's native kernels in use (see kernels-batch-norm-suite.ts).
import { batchNormSuite } from './kernels-batch-norm-suite.ts';

batchNormSuite('native');
