// `npx tsx tests/helpers/synthetic-worker.ts <run-dir>`: the real worker on the synthetic dataset,
// as its own process (for kill/resume and concurrency tests). SYNTH_TRAIN sets the number of
// training images; retrain texts are `ratio` suffixed copies of each training text.
import { runWorker } from '../../runner/train/worker.ts';
import { syntheticDataset } from './synthetic-dataset.ts';

const train = Number(process.env.SYNTH_TRAIN ?? 240);
const code = await runWorker(process.argv[2], {
  loadDataset: async () => syntheticDataset({ train }),
  retrainTexts: async (config, d) =>
    d.train.texts.flatMap((t, i) => Array.from({ length: config.augmentation.ratio }, (_, k) => ({ label: d.train.labels[i], text: `${t} variant ${k}`, source: i }))),
  stepLogEvery: 1,
});
process.exit(code);
