/**
 * One display unit per metric, used by every view (compare, report, plots, `mmrun status`):
 * accuracies and other proportions in percent with one decimal (differences in points), other
 * metrics with three decimals. Pure.
 */
import { isProportion } from './metrics.ts';

export interface DisplayUnit {
  factor: number; // multiply the stored value by this
  decimals: number;
  suffix: string; // after a level ("97.4%")
  deltaWord: string; // after a difference ("+0.3 points")
}

export function unitOf(metric: string): DisplayUnit {
  return isProportion(metric) ? { factor: 100, decimals: 1, suffix: '%', deltaWord: ' points' } : { factor: 1, decimals: 3, suffix: '', deltaWord: '' };
}

/** The number as displayed, without unit: "97.4" (proportions), "0.412" (others); "n/a" when undefined. */
export function formatNumber(metric: string, v: number | undefined, signed = false): string {
  if (v === undefined || !Number.isFinite(v)) return v === Infinity ? '∞' : v === -Infinity ? '-∞' : 'n/a';
  const u = unitOf(metric);
  const s = (v * u.factor).toFixed(u.decimals);
  if (/^-0\.?0*$/.test(s)) return s.slice(1); // "-0.0" → "0.0"
  return signed && !s.startsWith('-') && !/^0\.?0*$/.test(s) ? `+${s}` : s;
}

/** A level with its unit: "97.4%" or "0.412". */
export function formatMetricValue(metric: string, v: number | undefined): string {
  const s = formatNumber(metric, v);
  return s === 'n/a' ? s : `${s}${unitOf(metric).suffix}`;
}

/** True when a difference displays as zero ("0.0" points): never presented as an effect. */
export function roundsToZero(metric: string, delta: number): boolean {
  return /^0\.?0*$/.test(formatNumber(metric, Math.abs(delta)));
}
