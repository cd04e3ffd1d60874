import { relative } from 'node:path';
import { formatInformativeness } from '../data/describe/informativeness.ts';
import { planExperiment } from '../plan-experiment.ts';
import type { Experiment } from '../config/types.gen.ts';
import type { ProgressEvent } from '../data/index.ts';
import { MmrunError } from '../errors.ts';
import { createProgress, type Progress } from '../progress.ts';
import { datasetKey } from '../sweep/identity.ts';
import type { Command } from './types.ts';

/** Turns builder progress events into one bar per stage label. */
export function progressBars(): { onProgress: (e: ProgressEvent) => void; close: () => void } {
  const bars = new Map<string, { bar: Progress; done: number }>();
  return {
    onProgress(e) {
      let entry = bars.get(e.label);
      if (!entry) {
        entry = { bar: createProgress({ label: e.label, total: e.total, unit: e.unit }), done: 0 };
        bars.set(e.label, entry);
      }
      if (e.done > entry.done) {
        entry.bar.tick(e.done - entry.done, e.extra);
        entry.done = e.done;
      }
      if (e.done >= e.total) entry.bar.done();
    },
    close() {
      for (const { bar } of bars.values()) bar.done();
    },
  };
}

/** The distinct datasets a sweep trains on (a grid over dataset.* makes several). */
function datasetsOf(file: string, writes: boolean): Experiment[] {
  const { plan } = planExperiment(file, { writableArtifacts: writes });
  const byKey = new Map<string, Experiment>();
  for (const run of plan.runs) byKey.set(datasetKey(run.config), run.config);
  return [...byKey.values()];
}

export const command: Command = {
  name: 'dataset build',
  summary: 'Build (or find) the image/text dataset(s) an experiment trains on',
  usage: 'mmrun dataset build <experiment.yaml>',
  options: {
    'dry-run': { type: 'boolean', description: 'Show what would be built and the LLM cost estimate, then stop' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun dataset build: name one experiment file, e.g. mmrun dataset build experiments/quickstart.yaml');
    const configs = datasetsOf(positionals[0], !values['dry-run']);
    // Loaded here, not at the top: `mmrun --help` lists every command and must not load the dataset builders.
    const { ensureDataset } = await import('../data/index.ts');
    const dryRun = Boolean(values['dry-run']);
    if (configs.length > 1) console.log(`${configs.length} distinct datasets in this sweep`);
    for (const config of configs) {
      const bars = progressBars();
      const t0 = Date.now();
      let ref;
      try {
        ref = await ensureDataset(config, { onProgress: bars.onProgress, dryRun });
      } finally {
        bars.close();
      }
      const where = relative(process.cwd(), ref.dir) || ref.dir;
      if (ref.status === 'planned') {
        const c = ref.plan!.counts;
        console.log(`dry run: ${where} would hold train ${c.train}, val ${c.val}, test ${c.test}${c.extraTrainTexts ? `, extra train texts ${c.extraTrainTexts}` : ''} (${ref.plan!.toDescribe} images to describe); nothing written`);
        continue;
      }
      const m = ref.manifest!;
      const s = m.splits;
      const what = ref.status === 'found' ? 'already built' : `built in ${((Date.now() - t0) / 1000).toFixed(1)}s`;
      console.log(
        `${where}: ${what} — train ${s.train.count}, val ${s.val.count}, test ${s.test.count}${s.extraTrainTexts.count ? `, extra train texts ${s.extraTrainTexts.count}` : ''}; ` +
          `${m.descriptions.describer} descriptions, ${m.descriptions.stats.meanWords} words on average, vocabulary ${m.descriptions.stats.vocabulary}`,
      );
      if (m.descriptions.informativeness) console.log(`  ${formatInformativeness(m.descriptions.informativeness)}`);
    }
    return 0;
  },
};
