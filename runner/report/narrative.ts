/** The report's written summary: sentences built from the numbers. Pure. */
import { describeControl, RATIO_PATH, SIGNIFICANCE, type Comparison, type MetricDelta, type Row, type RunResult } from './aggregate.ts';
import { describeValue, metricTitle, xAxisKey } from './figures.ts';
import { fmt, fmtInterval, fmtItems, fmtP } from './format.ts';
import { lowerIsBetter } from './metrics.ts';
import { unitOf } from './units.ts';

export interface Narrative {
  headline: string[]; // paragraphs
  effects: string[]; // one sentence per treated arm (image accuracy)
  sharedSpace: string[]; // one sentence per arm at the largest ratio
  caveats: string[];
}

function unitWord(metric: string): string {
  return unitOf(metric).deltaWord;
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

/** "p (Holm) = 0.01", "p (Holm) < 0.001". */
export function pPhrase(p: number | undefined, label = 'p (Holm)'): string {
  const s = fmtP(p);
  return s.startsWith('<') ? `${label} < ${s.slice(1)}` : `${label} = ${s}`;
}

/** "items: +14 of 10,000 test images per seed pair, p (Holm) = 0.003" (or why there is none). */
export function itemPhrase(d: MetricDelta): string | undefined {
  const ev = d.items;
  if (!ev) return undefined;
  if (!ev.pooled) return `per-item test n/a (${ev.missing[0]?.reason ?? 'no per-item results'})`;
  const partial = ev.missing.length ? ` (${ev.pairs.length} of ${ev.pairs.length + ev.missing.length} seed pairs)` : '';
  return `${fmtItems(d)} test items per seed pair${partial}, per-item test ${pPhrase(ev.pooled.pHolm)}`;
}

/** "ratio 8: +1.3 points image accuracy at 1% images, 95% CI [0.6, 2.0], p (Holm) = 0.01, n = 5; +14 of 10,000 test items …" */
export function effectSentence(c: Comparison, row: Row, metric: string): string | undefined {
  const d = row.deltas[metric];
  if (!d || d.n === 0) return undefined;
  const { x, rest } = where(c, row);
  const head = `${x}: ${fmt(metric, d.meanDiff, true)}${unitWord(metric)} ${metricTitle(metric)}${atPhrase(rest)}`;
  const items = itemPhrase(d);
  const tail = items ? `; ${items}` : '';
  if (d.pRaw === undefined || !d.ci) return `${head}, n = ${d.n} (${d.note ?? 'no test'})${tail}`;
  const zero = d.roundsToZero ? ' (rounds to 0: not an effect)' : '';
  return `${head}, 95% CI ${fmtInterval(metric, d.ci, true)}, ${pPhrase(d.pHolm)}, n = ${d.n}${zero}${tail}`;
}

/** Better or worse than the control after Holm, with a CI excluding 0 and a visible difference. */
export function isSignificant(row: Row, metric: string): boolean {
  return (row.deltas[metric]?.verdict ?? 'none') !== 'none';
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
  if (!c.control) {
    headline.push('This study has no control arm (no augmentation.ratio = 0, no ablations, no report.control), so no effect is estimated; the tables give each arm’s level.');
  } else if (c.controlNote) {
    headline.push(c.controlNote);
  } else if (treated.length && c.metrics.includes(metric)) {
    const control = describeControl(c.control);
    const tested = treated.filter((r) => r.deltas[metric].pHolm !== undefined);
    const untested = treated.length - tested.length;
    const up = tested.filter((r) => r.deltas[metric].verdict === 'better');
    const down = tested.filter((r) => r.deltas[metric].verdict === 'worse');
    const best = [...treated].sort((a, b) => b.deltas[metric].meanDiff - a.deltas[metric].meanDiff)[0];
    if (tested.length === 0) {
      const why = treated.some((r) => r.deltas[metric].n >= 2) ? 'each arm has either a single seed pair or paired differences with zero variance' : 'no arm has two seed pairs';
      headline.push(`No arm can be tested against the control (${control}): ${why}. The differences below are observations, not evidence.`);
    } else {
      const uncorrected = tested.filter((r) => r.deltas[metric].pRaw! < SIGNIFICANCE && !r.deltas[metric].roundsToZero && r.deltas[metric].meanDiff > 0 !== lowerIsBetter(metric)).length;
      headline.push(
        `Against the control (${control}), ${up.length} of ${tested.length} arm${tested.length === 1 ? '' : 's'} improve${tested.length === 1 ? 's' : ''} image accuracy significantly (paired t-test over seeds, Holm-adjusted over the ${tested.length} arm${tested.length === 1 ? '' : 's'}, p < ${SIGNIFICANCE}, 95% CI excluding 0` +
          `${tested.length > 1 ? `; ${uncorrected} before the correction` : ''})` +
          `${down.length ? ` and ${down.length} make${down.length === 1 ? 's' : ''} it worse` : ''}` +
          `${untested ? `; ${untested} arm${untested === 1 ? ' has' : 's have'} no test (one seed pair or zero variance)` : ''}. ` +
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
        const ci = d.ci ? `, 95% CI ${fmtInterval(m, d.ci, true)}, ${pPhrase(d.pHolm)}` : `, ${d.note ?? 'no test'}`;
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
  for (const r of c.rows) for (const n of r.notes) caveats.push(`${r.label}: ${n}.`);
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
