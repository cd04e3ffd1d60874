// Per-item paired evidence: the compact per-item file, exact McNemar per seed pair and pooled
// over seeds, reported beside the seed-level test; older runs without the file show n/a.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../runner/cli.ts';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { compareRuns, type RunResult } from '../../runner/report/aggregate.ts';
import { readItemResults, writeItemResults, itemFileOf } from '../../runner/report/item-files.ts';
import { bitAt, countCorrect, decodeBits, discordant, encodeBits, itemResults } from '../../runner/report/items.ts';
import { compareStudy, loadStudy } from '../../runner/report/study.ts';
import { itemNetTest, mcnemarExact } from '../../runner/report/stats.ts';
import { runDirOf } from '../../runner/track/run-store.ts';
import { writeSyntheticStudy } from '../fixtures/runs-synthetic.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmrun-items-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the per-item bitset', () => {
  it('packs one bit per item, LSB first, and round-trips', () => {
    const correct = [true, false, true, true, false, false, false, false, true];
    const b64 = encodeBits(correct);
    const bits = decodeBits(b64, correct.length);
    expect(Array.from(bits)).toEqual([0b00001101, 0b00000001]);
    expect(correct.map((_, i) => bitAt(bits, i))).toEqual(correct);
    expect(countCorrect(bits, correct.length)).toBe(4);
    expect(() => decodeBits(b64, 17)).toThrow(/bitset of 2 bytes for 17 items \(expected 3\)/);
    // 10,000 test items take 1,250 bytes (1,668 in base64) per metric
    expect(encodeBits(new Array(10_000).fill(true)).length).toBe(1668);
  });

  it('is built from predictions and labels, per metric', () => {
    const r = itemResults([0, 1, 2, 3], { image_acc: [0, 1, 0, 3], text_acc: Int32Array.from([1, 1, 2, 3]) }, 'set');
    expect(r.n).toBe(4);
    expect(countCorrect(decodeBits(r.correct.image_acc!, 4), 4)).toBe(3);
    expect(countCorrect(decodeBits(r.correct.text_acc!, 4), 4)).toBe(3);
    expect(() => itemResults([0, 1], { image_acc: [0] }, 'set')).toThrow(RangeError);
  });

  it('counts discordant items between two runs', () => {
    const t = decodeBits(encodeBits([1, 1, 0, 1, 0]), 5);
    const c = decodeBits(encodeBits([1, 0, 1, 0, 0]), 5);
    expect(discordant(t, c, 5)).toEqual({ b: 2, c: 1, items: 5 });
  });
});

describe('items.json', () => {
  it('round-trips through the verified envelope and names a damaged file', () => {
    const items = itemResults([0, 1, 2], { image_acc: [0, 1, 1] }, 'set');
    writeItemResults(dir, items);
    expect(readItemResults(dir)).toEqual(items);
    expect(readItemResults(join(dir, 'nope'))).toBeUndefined();
    const file = itemFileOf(dir);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"n": 3', '"n": 4'));
    expect(() => readItemResults(dir)).toThrow(CorruptFileError);
    expect(() => readItemResults(dir)).toThrow(/items\.json is corrupt: content does not match its checksum/);
  });
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  try {
    return { code: await main(args), out: out.join('\n') };
  } finally {
    log.mockRestore();
  }
}

describe('item-level tests in the comparison', () => {
  it('gives an exact McNemar test per seed pair, a pooled one over seeds, and the effect in items', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 8], fractions: [0.01], seeds: 3, details: false, items: true });
    const study = loadStudy(s.file);
    const c = compareStudy(study, { metrics: ['image_acc'] });
    const row = c.rows.find((r) => r.role === 'treated')!;
    const ev = row.deltas.image_acc.items!;
    expect(ev.missing).toEqual([]);
    expect(ev.pairs.map((p) => p.seed)).toEqual([0, 1, 2]);
    // each pair recomputed by hand from the two runs' files
    const itemNet = new Array<number>(2000).fill(0);
    for (const p of ev.pairs) {
      const [t, k] = [8, 0].map((ratio) => study.runs.find((r) => r.seed === p.seed && r.coords['augmentation.ratio'] === ratio)!);
      const bt = decodeBits(t.items!.correct.image_acc!, 2000);
      const bk = decodeBits(k.items!.correct.image_acc!, 2000);
      expect(p).toEqual({ seed: p.seed, ...discordant(bt, bk, 2000), pRaw: mcnemarExact(p.b, p.c) });
      for (let i = 0; i < 2000; i++) itemNet[i] += Number(bitAt(bt, i)) - Number(bitAt(bk, i));
      // the net items match the accuracy difference (items are drawn to match the accuracies)
      expect((p.b - p.c) / 2000).toBeCloseTo(t.final!.image_acc - k.final!.image_acc, 3);
    }
    const b = ev.pairs.reduce((a, p) => a + p.b, 0);
    const k = ev.pairs.reduce((a, p) => a + p.c, 0);
    // pooled with each test item as one unit (the three seed pairs score the same 2,000 items)
    expect(ev.pooled).toEqual({ b, c: k, items: 6000, pRaw: itemNetTest(itemNet), pHolm: itemNetTest(itemNet) });
    const { out } = await cli(['compare', s.file, '--metric', 'image_acc']);
    const net = Math.round((b - k) / 3);
    expect(out).toMatch(new RegExp(`^ratio=8 frac=0\\.01 .*\\+${net} of 2,000 +(<0\\.001|[\\d.]+)$`, 'm'));
    expect(out).toMatch(/Δ items per seed: test items the arm gets right that the control gets wrong/);
  });

  it('shows n/a with the reason for runs without items.json (older runs) or on different test items', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, details: false, items: true });
    const study = loadStudy(s.file);
    const oldRun = study.runs.find((r) => r.seed === 1 && r.coords['augmentation.ratio'] === 4)!;
    rmSync(itemFileOf(runDirOf(s.artifactsDir, oldRun.id)));
    const c = compareStudy(loadStudy(s.file), { metrics: ['image_acc'] });
    const ev = c.rows[1].deltas.image_acc.items!;
    expect(ev.pairs.map((p) => p.seed)).toEqual([0]);
    expect(ev.missing).toEqual([{ seed: 1, reason: `${oldRun.name} has no items.json (run before per-item results were stored)` }]);
    const { out } = await cli(['compare', s.file, '--metric', 'image_acc']);
    expect(out).toMatch(/Items n\/a for 1 seed pair: a run has no items\.json \(it ran before per-item results were stored\)\./);

    const r = (ratio: number, testSet: string): RunResult => ({ id: `r${ratio}`, name: `ratio=${ratio}`, coords: { 'augmentation.ratio': ratio }, ablation: 'baseline', seed: 0, state: 'finished', final: { image_acc: 0.5 }, items: itemResults([0, 1], { image_acc: [0, 0] }, testSet) });
    const other = compareRuns([r(0, 'a'), r(2, 'b')], { metrics: ['image_acc'] }).rows[1].deltas.image_acc.items!;
    expect(other.missing[0].reason).toBe('the two runs were scored on different test items');
    expect(other.pooled).toBeUndefined();
  });

  it('reports a damaged items.json as a named problem for the item test only', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, details: false, items: true });
    const run = loadStudy(s.file).runs[0];
    writeFileSync(itemFileOf(runDirOf(s.artifactsDir, run.id)), '{"sha256": "x", "val');
    const study = loadStudy(s.file);
    const damaged = study.runs.find((r) => r.id === run.id)!;
    expect(damaged.state).toBe('finished');
    expect(damaged.itemsProblem).toMatch(/items\.json is corrupt: not valid JSON/);
    const c = compareStudy(study, { metrics: ['image_acc'] });
    expect(c.rows[1].deltas.image_acc.items!.missing.some((m) => /is corrupt/.test(m.reason))).toBe(true);
  });
});
