// `npx tsx tests/helpers/synthetic-worker.ts <run-dir>`: the real worker on the synthetic dataset,
// as its own process (for kill/resume tests). SYNTH_TRAIN sets the number of training images.
import { runWorker } from '../../runner/train/worker.ts';
import { syntheticDataset } from './synthetic-dataset.ts';

const train = Number(process.env.SYNTH_TRAIN ?? 240);
const code = await runWorker(process.argv[2], { loadDataset: async () => syntheticDataset({ train }), stepLogEvery: 1 });
process.exit(code);
