import { relative } from 'node:path';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'report',
  summary: 'Write a self-contained HTML report (plots, tables, significance) of an experiment',
  usage: 'mmrun report <experiment.yaml> [--out file.html] [--control path=value] [--raw-p]',
  options: {
    out: { type: 'string', short: 'o', description: 'HTML file to write; plots go to plots/ beside it (default: <artifacts_dir>/reports/<experiment>/report.html)' },
    'no-png': { type: 'boolean', description: 'Write plots as SVG only (no PNG copies)' },
    control: { type: 'string', description: 'The control arm, paired by seed: <path>=<value> or ablation=<name> (default: report.control of the file, else augmentation.ratio=0, else ablation=baseline)' },
    'raw-p': { type: 'boolean', description: 'Also show unadjusted p values (the default p is Holm-adjusted over the arms)' },
    'artifacts-dir': { type: 'string', description: "Where the run directories are (default: the experiment's artifacts_dir)" },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun report: name one experiment file.');
    // Loaded here, not at the top: `mmrun --help` lists every command and must not load the plotting stack.
    const { buildReport } = await import('../report/build.ts');
    const { loadStudy } = await import('../report/study.ts');
    const study = loadStudy(positionals[0], { artifactsDir: values['artifacts-dir'] as string | undefined });
    for (const w of study.warnings ?? []) console.error(`warning: ${w}`);
    // A finished run whose summary.json is damaged is left out of the report: say which and why.
    for (const r of study.runs) if (r.state === 'finished' && !r.final) console.error(`warning: ${r.name} (${r.id}): finished but ${r.problem ?? 'has no summary'}; left out`);
    const started = Date.now();
    const result = await buildReport(study, { out: values.out as string | undefined, png: !values['no-png'], control: values.control as string | undefined, rawP: !!values['raw-p'] });
    const rel = (f: string) => {
      const r = relative(process.cwd(), f);
      return !r || r.startsWith('..') ? f : r;
    };
    console.log(`Report: ${rel(result.html)} (${result.figures.length} plots, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`Plots:  ${rel(result.plots[0] ?? '').replace(/[^/]*$/, '')}{${result.figures.join(',')}}.{svg,png}`);
    for (const s of result.skipped) console.log(`Note: ${s}`);
    return 0;
  },
};
