/**
 * How much the descriptions alone say about the class: two linear probes fit on the training
 * split and scored on the test split. `attributes`: multinomial logistic regression on the
 * one-hot attributes behind the texts (what the describer could say at best). `text`: the same
 * on the texts' word unigrams and bigrams (what a bag-of-words text model can read from them).
 * Pure; deterministic (fixed seed, fixed epochs).
 */
import { createRng } from '../../random.ts';

export interface ProbeResult {
  /** Test accuracy of the probe, in [0, 1]. */
  accuracy: number;
  /** Accuracy of always guessing the most frequent training class. */
  majority: number;
  features: number;
  train: number;
  test: number;
}

export interface Informativeness {
  attributes?: ProbeResult;
  text: ProbeResult;
}

/** One feature per (attribute, value): list attributes (loops) count per value. */
export function attributeTokens(attrs: object): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'kind' || k === 'subject') continue;
    if (Array.isArray(v)) {
      out.push(`${k}#${v.length}`);
      for (const x of v) out.push(`${k}=${String(x)}`);
    } else out.push(`${k}=${JSON.stringify(v)}`);
  }
  return out;
}

/** Lower-cased words and adjacent word pairs. */
export function textTokens(text: string): string[] {
  const words = text.toLowerCase().match(/[a-z0-9'-]+/g) ?? [];
  const out = words.slice();
  for (let i = 0; i + 1 < words.length; i++) out.push(`${words[i]} ${words[i + 1]}`);
  return out;
}

/** Fits softmax regression by SGD on sparse binary features (tokens of the training items). */
export function linearProbe(train: { tokens: string[]; label: number }[], test: { tokens: string[]; label: number }[], numClasses: number, opts: { epochs?: number; seed?: number } = {}): ProbeResult {
  const vocab = new Map<string, number>();
  for (const item of train) for (const t of item.tokens) if (!vocab.has(t)) vocab.set(t, vocab.size);
  const encode = (tokens: string[]) => [...new Set(tokens.map((t) => vocab.get(t)).filter((i): i is number => i !== undefined))];
  const xs = train.map((item) => encode(item.tokens));
  const d = vocab.size + 1; // last feature: bias
  const W = new Float64Array(d * numClasses);
  const rng = createRng(opts.seed ?? 1);
  const order = train.map((_, i) => i);
  const epochs = opts.epochs ?? 8;
  const logits = new Float64Array(numClasses);
  const score = (x: number[]) => {
    for (let c = 0; c < numClasses; c++) {
      let s = W[(d - 1) * numClasses + c];
      for (const f of x) s += W[f * numClasses + c];
      logits[c] = s;
    }
    return logits;
  };
  for (let e = 0; e < epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const lr = 0.5 / (1 + e);
    for (const i of order) {
      const x = xs[i];
      const z = score(x);
      let max = -Infinity;
      for (let c = 0; c < numClasses; c++) max = Math.max(max, z[c]);
      let sum = 0;
      for (let c = 0; c < numClasses; c++) sum += (z[c] = Math.exp(z[c] - max));
      const step = lr / Math.sqrt(x.length + 1);
      for (let c = 0; c < numClasses; c++) {
        const g = z[c] / sum - (c === train[i].label ? 1 : 0);
        if (g === 0) continue;
        W[(d - 1) * numClasses + c] -= step * g;
        for (const f of x) W[f * numClasses + c] -= step * g;
      }
    }
  }
  let correct = 0;
  for (const item of test) {
    const z = score(encode(item.tokens));
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (z[c] > z[best]) best = c;
    if (best === item.label) correct++;
  }
  const freq = new Array<number>(numClasses).fill(0);
  for (const item of train) freq[item.label]++;
  const top = freq.indexOf(Math.max(...freq));
  const majority = test.length ? test.filter((t) => t.label === top).length / test.length : 0;
  return { accuracy: test.length ? correct / test.length : 0, majority, features: vocab.size, train: train.length, test: test.length };
}

/** Both probes; `attributes` only when the describer recorded attributes. */
export function measureInformativeness(
  train: { texts: string[]; labels: ArrayLike<number>; attributes?: object[] },
  test: { texts: string[]; labels: ArrayLike<number>; attributes?: object[] },
  numClasses: number,
): Informativeness {
  const items = (s: typeof train, tokens: (i: number) => string[]) => Array.from({ length: s.texts.length }, (_, i) => ({ tokens: tokens(i), label: s.labels[i] }));
  const out: Informativeness = {
    text: linearProbe(items(train, (i) => textTokens(train.texts[i])), items(test, (i) => textTokens(test.texts[i])), numClasses),
  };
  if (train.attributes && test.attributes) {
    out.attributes = linearProbe(items(train, (i) => attributeTokens(train.attributes![i])), items(test, (i) => attributeTokens(test.attributes![i])), numClasses);
  }
  return out;
}

export function formatInformativeness(inf: Informativeness): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const parts = [`bag-of-words text probe ${pct(inf.text.accuracy)}`];
  if (inf.attributes) parts.unshift(`attribute probe ${pct(inf.attributes.accuracy)}`);
  return `descriptions alone identify the class: ${parts.join(', ')} (test split, majority class ${pct(inf.text.majority)})`;
}
