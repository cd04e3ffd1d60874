/** The report's written summary: sentences built from the numbers. Pure. */
import { RATIO_PATH, type Comparison, type Row, type RunResult } from './aggregate.ts';
import { describeValue, metricTitle, xAxisKey } from './figures.ts';
import { fmt, fmtInterval, fmtP, isProportion } from './format.ts';
import { holmAdjust } from './stats.ts';

export interface Narrative {
  headline: string[]; // paragraphs
  effects: string[]; // one sentence per treated arm (image accuracy)
  sharedSpace: string[]; // one sentence per arm at the largest ratio
  caveats: string[];
}

const SIGNIFICANCE = 0.05;

function unitWord(metric: string): string {
  return isProportion(metric) ? ' points' : '';
}

function where(c: Comparison, row: Row): { x: string; rest: string } {
  const xKey = xAxisKey(c);
  const x = xKey ? describeValue(xKey, row.values[xKey]) : row.label;
  const fractions = c.by.filter((k) => k !== xKey && k.endsWith('image_fraction')).map((k) => describeValue(k, row.values[k]));
  const others = c.by.filter((k) => k !== xKey && !k.endsWith('image_fraction')).map((k) => describeValue(k, row.values[k]));
  const rest = [fractions.length ? `at ${fractions.join(', ')}` : '', others.length ? `(${others.join(', ')})` : ''].filter(Boolean).join(' ');
  return { x, rest };
}

function atPhrase(rest: string): string {
  return rest ? ` ${rest}` : '';
}

function pPhrase(p: number | undefined): string {
  const s = fmtP(p);
  return s.startsWith('<') ? `p < ${s.slice(1)}` : `p = ${s}`;
}

/** "ratio 8: +1.3 points image accuracy at 1% images, 95% CI [0.6, 2.0], p = 0.01, n = 5" */
export function effectSentence(c: Comparison, row: Row, metric: string): string | undefined {
  const d = row.deltas[metric];
  if (!d || d.n === 0) return undefined;
  const { x, rest } = where(c, row);
  const head = `${x}: ${fmt(metric, d.meanDiff, true)}${unitWord(metric)} ${metricTitle(metric)}${atPhrase(rest)}`;
  if (d.n < 2 || !d.ci) return `${head}, n = ${d.n} (one seed: no confidence interval, no test)`;
  return `${head}, 95% CI ${fmtInterval(metric, d.ci, true)}, ${pPhrase(d.p)}, n = ${d.n}`;
}

export function isSignificant(row: Row, metric: string): boolean {
  const d = row.deltas[metric];
  return !!d?.ci && d.p !== undefined && d.p < SIGNIFICANCE && (d.ci[0] > 0 || d.ci[1] < 0);
}

function controlName(c: Comparison): string {
  return c.control === 'ratio' ? 'the control arm (ratio 0)' : "the 'baseline' ablation";
}

export function writeNarrative(c: Comparison, context: { unfinished: RunResult[]; orphans: RunResult[] }): Narrative {
  const headline: string[] = [];
  const effects: string[] = [];
  const sharedSpace: string[] = [];
  const caveats: string[] = [];
  const finishedRuns = c.rows.reduce((s, r) => s + r.counts.finished, 0);
  const totalRuns = c.rows.reduce((s, r) => s + Object.values(r.counts).reduce((a, b) => a + b, 0), 0);
  const seeds = Math.max(0, ...c.rows.map((r) => r.seeds.length));
  headline.push(`${finishedRuns} of ${totalRuns} runs finished, ${c.rows.length} arms, up to ${seeds} seed${seeds === 1 ? '' : 's'} per arm.`);

  const metric = 'image_acc';
  const treated = c.rows.filter((r) => r.role === 'treated' && r.deltas[metric]?.n > 0);
  if (c.control === 'none') {
    headline.push('This study has no control arm (no augmentation.ratio = 0, no ablations), so no effect is estimated; the tables give each arm’s level.');
  } else if (treated.length && c.metrics.includes(metric)) {
    const testable = treated.filter((r) => r.deltas[metric].n >= 2);
    const up = testable.filter((r) => isSignificant(r, metric) && r.deltas[metric].meanDiff > 0);
    const down = testable.filter((r) => isSignificant(r, metric) && r.deltas[metric].meanDiff < 0);
    const best = [...treated].sort((a, b) => b.deltas[metric].meanDiff - a.deltas[metric].meanDiff)[0];
    const holm = holmAdjust(testable.map((r) => r.deltas[metric].p ?? 1));
    const upAfterHolm = testable.filter((r, i) => holm[i] < SIGNIFICANCE && isSignificant(r, metric) && r.deltas[metric].meanDiff > 0).length;
    if (testable.length === 0) {
      headline.push(`No arm has two seeds paired with ${controlName(c)}, so no difference can be tested: the differences below are single observations.`);
    } else {
      headline.push(
        `Against ${controlName(c)}, ${up.length} of ${testable.length} arms improve image accuracy significantly (paired t-test over seeds, p < ${SIGNIFICANCE}, 95% CI excluding 0` +
          `${testable.length > 1 ? `; ${upAfterHolm} after Holm correction for the ${testable.length} comparisons` : ''})` +
          `${down.length ? ` and ${down.length} make it worse` : ''}${testable.length < treated.length ? `; ${treated.length - testable.length} arm${treated.length - testable.length === 1 ? ' has' : 's have'} a single pair and ${treated.length - testable.length === 1 ? 'is' : 'are'} not tested` : ''}. ` +
          `Largest ${best.deltas[metric].meanDiff >= 0 ? 'gain' : 'difference'}: ${effectSentence(c, best, metric)}.`,
      );
    }
    for (const r of treated) {
      const s = effectSentence(c, r, metric);
      if (s) effects.push(s + '.');
    }
  }

  // Shared space at the largest ratio: does more text bring the modalities together?
  const xKey = xAxisKey(c);
  if (xKey === RATIO_PATH) {
    const top = Math.max(...c.rows.map((r) => Number(r.values[RATIO_PATH])));
    for (const r of c.rows.filter((row) => row.values[RATIO_PATH] === top && row.role === 'treated')) {
      const parts: string[] = [];
      for (const m of ['modality_gap', 'transfer_text_to_image_acc', 'retrieval_t2i_r1']) {
        const d = r.deltas[m];
        if (!c.metrics.includes(m) || !d || d.n === 0) continue;
        const ci = d.ci ? `, 95% CI ${fmtInterval(m, d.ci, true)}, ${pPhrase(d.p)}` : ', one seed';
        parts.push(`${metricTitle(m).replace(/ \(.*\)$/, '')} ${fmt(m, d.controlMean)} → ${fmt(m, d.controlMean + d.meanDiff)} (${fmt(m, d.meanDiff, true)}${unitWord(m)}${ci})`);
      }
      if (parts.length) {
        const { x, rest } = where(c, r);
        sharedSpace.push(`${x}${atPhrase(rest)}: ${parts.join('; ')}.`);
      }
    }
  }

  const single = c.rows.filter((r) => r.counts.finished === 1);
  if (single.length) caveats.push(`${single.length} arm${single.length === 1 ? ' has' : 's have'} a single finished seed: their intervals are shown as n/a.`);
  const unfinished = context.unfinished.filter((r) => r.state !== 'missing');
  const missing = context.unfinished.length - unfinished.length;
  if (unfinished.length) {
    const byState = new Map<string, number>();
    for (const r of unfinished) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
    caveats.push(`Left out of every statistic: ${[...byState].map(([s, n]) => `${n} ${s}`).join(', ')} run${unfinished.length === 1 ? '' : 's'} (listed below).`);
  }
  if (missing) caveats.push(`${missing} run${missing === 1 ? '' : 's'} of the plan not started yet.`);
  if (context.orphans.length) caveats.push(`${context.orphans.length} run director${context.orphans.length === 1 ? 'y comes' : 'ies come'} from an older version of the experiment file (ids not in the current plan) and ${context.orphans.length === 1 ? 'is' : 'are'} not included.`);
  return { headline, effects, sharedSpace, caveats };
}
