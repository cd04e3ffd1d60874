/**
 * Per-item correctness of a run's test evaluation, stored compactly (one bit per test item and
 * metric, base64), and the discordant-pair counts two runs give on the same items. Pure; the
 * file is written and read by item-files.ts.
 */

/** Metrics whose per-item correctness is stored (both modalities' test accuracy). */
export const ITEM_METRICS = ['image_acc', 'text_acc'] as const;
export type ItemMetric = (typeof ITEM_METRICS)[number];

export function isItemMetric(metric: string): metric is ItemMetric {
  return (ITEM_METRICS as readonly string[]).includes(metric);
}

/** What `items.json` holds (inside the verified envelope). */
export interface ItemResults {
  version: 1;
  /** Test items scored, in dataset order. */
  n: number;
  /** SHA-256 of the test split (labels and images): runs are only paired on the same items. */
  testSet: string;
  /** Bit i (LSB first) set when item i was classified correctly; base64. */
  correct: Partial<Record<ItemMetric, string>>;
}

/** Packs booleans into a bitset, item i at bit i % 8 of byte i / 8, as base64. */
export function encodeBits(correct: ArrayLike<boolean | number>): string {
  const bytes = new Uint8Array(Math.ceil(correct.length / 8));
  for (let i = 0; i < correct.length; i++) if (correct[i]) bytes[i >> 3] |= 1 << (i & 7);
  return Buffer.from(bytes).toString('base64');
}

/** The bitset of `n` items back as bytes; throws RangeError when the length does not fit `n`. */
export function decodeBits(base64: string, n: number): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  if (bytes.length !== Math.ceil(n / 8)) throw new RangeError(`bitset of ${bytes.length} bytes for ${n} items (expected ${Math.ceil(n / 8)})`);
  return bytes;
}

export function bitAt(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] >> (i & 7)) & 1) === 1;
}

/** Items correct in the bitset. */
export function countCorrect(bits: Uint8Array, n: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (bitAt(bits, i)) k++;
  return k;
}

/** Per-item results of one evaluation: predictions against labels, per metric. */
export function itemResults(labels: ArrayLike<number>, predictions: Partial<Record<ItemMetric, ArrayLike<number>>>, testSet: string): ItemResults {
  const correct: ItemResults['correct'] = {};
  for (const m of ITEM_METRICS) {
    const pred = predictions[m];
    if (!pred) continue;
    if (pred.length !== labels.length) throw new RangeError(`${m}: ${pred.length} predictions for ${labels.length} labels`);
    correct[m] = encodeBits(Array.from(labels, (label, i) => pred[i] === label));
  }
  return { version: 1, n: labels.length, testSet, correct };
}

/** Discordant pairs of two runs on the same items: b = only `treated` right, c = only `control` right. */
export interface Discordant {
  b: number;
  c: number;
  items: number;
}

export function discordant(treated: Uint8Array, control: Uint8Array, n: number): Discordant {
  let b = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    const t = bitAt(treated, i);
    const k = bitAt(control, i);
    if (t && !k) b++;
    else if (k && !t) c++;
  }
  return { b, c, items: n };
}

/** Adds treated − control (per item: +1, 0 or −1) into `net`: per-item net over several seed pairs. */
export function addNet(net: Int32Array, treated: Uint8Array, control: Uint8Array): void {
  for (let i = 0; i < net.length; i++) net[i] += Number(bitAt(treated, i)) - Number(bitAt(control, i));
}

/** Checks the shape of a parsed items file; returns what is wrong, or undefined when valid. */
export function itemResultsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Partial<ItemResults>;
  if (v.version !== 1) return `unknown version ${JSON.stringify(v.version)}`;
  if (!Number.isInteger(v.n) || (v.n as number) < 0) return `n must be a non-negative integer (got ${JSON.stringify(v.n)})`;
  if (typeof v.testSet !== 'string') return 'testSet is missing';
  if (typeof v.correct !== 'object' || v.correct === null) return 'correct is missing';
  for (const [m, bits] of Object.entries(v.correct)) {
    if (typeof bits !== 'string') return `correct.${m} is not a base64 string`;
    try {
      decodeBits(bits, v.n as number);
    } catch (err) {
      return `correct.${m}: ${(err as Error).message}`;
    }
  }
  return undefined;
}
