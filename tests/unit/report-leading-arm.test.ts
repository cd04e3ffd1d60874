import { describe, expect, it } from 'vitest';
import { leadingArm } from '../../runner/report/leading-arm.ts';
import { summarize } from '../../runner/report/stats.ts';

const row = (label: string, values: Record<string, number[]>) => ({
  label,
  stats: Object.fromEntries(Object.entries(values).map(([m, xs]) => [m, summarize(xs)])),
});

describe('leadingArm (MLflow best/<metric>, mmrun.best_arm.<metric>)', () => {
  const rows = [
    row('control', { image_acc: [0.8, 0.82], modality_gap: [0.5, 0.6], val_loss: [0.4, 0.5] }),
    row('resample', { image_acc: [0.85, 0.86], modality_gap: [0.7, 0.8], val_loss: [0.3, 0.3] }),
    row('eda', { image_acc: [0.7, 0.72], modality_gap: [0.2, 0.3], val_loss: [0.6, 0.7] }),
  ];

  it('takes the highest mean for accuracies', () => {
    expect(leadingArm(rows, 'image_acc')).toEqual({ label: 'resample', mean: expect.closeTo(0.855, 9) });
  });

  it('takes the lowest mean for losses and the modality gap', () => {
    expect(leadingArm(rows, 'val_loss')?.label).toBe('resample');
    expect(leadingArm(rows, 'modality_gap')).toEqual({ label: 'eda', mean: expect.closeTo(0.25, 9) });
  });

  it('skips arms without a finite mean and keeps the first on a tie', () => {
    const tied = [row('a', { image_acc: [0.5] }), row('nan', { image_acc: [Number.NaN] }), row('b', { image_acc: [0.5] }), { label: 'none', stats: {} }];
    expect(leadingArm(tied, 'image_acc')?.label).toBe('a');
    expect(leadingArm([row('nan', { image_acc: [Number.NaN] })], 'image_acc')).toBeUndefined();
    expect(leadingArm(rows, 'text_acc')).toBeUndefined();
  });
});
