// One unit per metric in every view: percent with one decimal for accuracies (differences in
// points), three decimals for the others — in compare, the report, plots and `mmrun status`.
import { describe, expect, it } from 'vitest';
import { formatMetricValue, formatNumber, roundsToZero, unitOf } from '../../runner/report/units.ts';
import { fmt } from '../../runner/report/format.ts';
import { formatStatusTable, type StatusRow } from '../../runner/launch/sweep-status.ts';

describe('display units', () => {
  it('shows accuracies in percent and other metrics with three decimals', () => {
    expect(formatMetricValue('image_acc', 0.9736)).toBe('97.4%');
    expect(formatMetricValue('retrieval_t2i_r1', 0.3125)).toBe('31.3%');
    expect(formatMetricValue('modality_gap', 0.91234)).toBe('0.912');
    expect(formatMetricValue('image_acc', undefined)).toBe('n/a');
    expect(unitOf('transfer_text_to_image_acc').deltaWord).toBe(' points');
  });

  it('signs differences, never prints "-0.0" or "+0.0", and knows what rounds to zero', () => {
    expect(formatNumber('image_acc', 0.013, true)).toBe('+1.3');
    expect(formatNumber('image_acc', -0.0004, true)).toBe('0.0');
    expect(formatNumber('image_acc', 0.0004, true)).toBe('0.0');
    expect(formatNumber('modality_gap', -0.0002, true)).toBe('0.000');
    expect(roundsToZero('image_acc', 0.0004)).toBe(true);
    expect(roundsToZero('image_acc', -0.0005)).toBe(false); // shows as -0.1
    expect(roundsToZero('image_acc', 0.0005)).toBe(false); // the quickstart's +0.05 points shows as +0.1
    expect(fmt('image_acc', 0.9736)).toBe('97.4'); // compare tables: the unit is in the header
  });

  it('mmrun status shows the same unit as compare (97.4%, not 0.9736)', () => {
    const row: StatusRow = { id: 'abc', name: 'ratio=0 seed=0', state: 'finished', attempt: 1, durationS: 12, metric: { name: 'image_acc', value: 0.9736 }, phase: null, task: null, error: null };
    const table = formatStatusTable([row]);
    expect(table).toMatch(/ratio=0 seed=0 +finished +1 +\S+ +97\.4%/);
    expect(table).not.toContain('0.9736');
  });
});
