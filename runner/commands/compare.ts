import { MmrunError } from '../errors.ts';
import { compareStudy, loadStudy } from '../report/study.ts';
import { FORMATS, formatComparison, notes, type OutputFormat } from '../report/format.ts';
import type { Command } from './types.ts';

const list = (v: unknown): string[] | undefined =>
  typeof v === 'string' && v.trim() !== ''
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

export const command: Command = {
  name: 'compare',
  summary: 'Compare runs over seeds: mean, CI, delta vs a control arm with paired tests (Holm-adjusted)',
  usage: 'mmrun compare <experiment.yaml> [--by a,b] [--metric m,...] [--control path=value] [--raw-p] [--sort m] [--format table|csv|json|markdown]',
  options: {
    by: { type: 'string', description: 'Group rows by these grid paths, ablation or config paths (comma-separated); axes left out are pooled, each run still paired with its own control. Default: every grid axis and ablation' },
    metric: { type: 'string', description: 'Metrics to show (comma-separated; default: image_acc,text_acc,modality_gap,transfer_text_to_image_acc)' },
    control: { type: 'string', description: "The control arm, paired by seed: <path>=<value> (e.g. model.projection.dim=128) or ablation=<name>. Default: report.control of the file, else augmentation.ratio=0, else ablation=baseline" },
    'raw-p': { type: 'boolean', description: 'Also show unadjusted p values (the default p is Holm-adjusted over the arms)' },
    sort: { type: 'string', description: 'Sort rows by this metric, best first' },
    format: { type: 'string', description: 'table, csv, json or markdown', default: 'table' },
    'artifacts-dir': { type: 'string', description: "Where the run directories are (default: the experiment's artifacts_dir)" },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun compare: name one experiment file.');
    const format = (values.format ?? 'table') as OutputFormat;
    if (!FORMATS.includes(format)) throw new MmrunError(`--format '${format}': expected one of ${FORMATS.join(', ')}.`);
    const study = loadStudy(positionals[0], { artifactsDir: values['artifacts-dir'] as string | undefined });
    for (const w of study.warnings ?? []) console.error(`warning: ${w}`);
    const comparison = compareStudy(study, { by: list(values.by), metrics: list(values.metric), sort: values.sort as string | undefined, control: values.control as string | undefined });
    const out = formatComparison(format, comparison, study.orphans, { experiment: study.plan.experiment, sweepId: study.plan.sweepId }, { rawP: !!values['raw-p'] });
    console.log(out);
    // CSV stays machine-readable: its notes go to stderr.
    if (format === 'csv') for (const n of notes(comparison, study.orphans)) console.error(n);
    return 0;
  },
};
