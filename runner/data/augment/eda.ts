/**
 * Easy Data Augmentation (Wei & Zou, 2019): synonym replacement, random insertion, random swap
 * and random deletion. Each variant applies one operation, rotating over the enabled ones.
 * Words are edited, punctuation is kept where it was; class names are never replaced or deleted
 * and are never produced as a synonym, so an edit cannot move a text to another class.
 */
import type { Rng } from '../../random.ts';
import { createRng, seedFrom, shuffled } from '../../random.ts';
import { yieldToEventLoop, type Original, type VariantGenerator } from './types.ts';
import type { WordNet } from './wordnet.ts';

export interface EdaRates {
  synonym: number;
  insert: number;
  swap: number;
  delete: number;
}

export type EdaOperation = keyof EdaRates;
const OPERATIONS: EdaOperation[] = ['synonym', 'insert', 'swap', 'delete'];

// Function words carry no visual content and have odd WordNet senses ("a" → "angstrom").
const STOPWORDS = new Set(
  `a an the and or but nor so yet of in on at to from by for with without about into onto over under
  above below near far off up down out through across along around between among against before after
  is are was were be been being am has have had having do does did doing can could will would shall
  should may might must i me my we our you your he him his she her it its they them their this that
  these those there here what which who whom whose when where why how all any both each few more most
  other some such no not only own same than too very just also as if then once again further while
  whether s t`.split(/\s+/),
);

interface Token {
  text: string;
  word: boolean;
}

const TOKEN = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;

export function tokenize(text: string): Token[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ text: m[0], word: /[\p{L}\p{N}]/u.test(m[0][0]) }));
}

/** Joins tokens back: a space between words, none before closing punctuation or after opening. */
export function detokenize(tokens: Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (out === '') out = t.text;
    else if (!t.word && /^[.,;:!?)\]}%]$/.test(t.text)) out += t.text;
    else if (/[([{]$/.test(out)) out += t.text;
    else out += ` ${t.text}`;
  }
  return out;
}

const pickOne = <T>(items: readonly T[], rng: Rng): T => items[Math.floor(rng.next() * items.length)];

/** Applies EDA operations to texts; protected words (class names) are left alone. */
export class Eda {
  private readonly protectedWords: Set<string>;

  constructor(
    private readonly wordnet: Pick<WordNet, 'synonyms'>,
    protectedWords: Iterable<string> = [],
  ) {
    this.protectedWords = new Set([...protectedWords].flatMap((w) => w.toLowerCase().split(/\s+/)));
  }

  /** Synonyms that may stand for `word`: not a class name, not containing one. */
  usableSynonyms(word: string): readonly string[] {
    return this.wordnet.synonyms(word).filter((s) => !s.split(/[\s-]+/).some((part) => this.protectedWords.has(part)));
  }

  private editable(t: Token): boolean {
    const w = t.text.toLowerCase();
    return t.word && !STOPWORDS.has(w) && !this.protectedWords.has(w);
  }

  /** Replaces n = max(1, round(rate × words)) distinct content words by a random WordNet synonym. */
  synonymReplacement(text: string, rate: number, rng: Rng): string {
    const tokens = tokenize(text);
    const n = count(rate, wordCount(tokens));
    const candidates = shuffled(
      tokens.flatMap((t, i) => (this.editable(t) ? [i] : [])),
      rng,
    );
    let replaced = 0;
    for (const i of candidates) {
      if (replaced >= n) break;
      const synonyms = this.usableSynonyms(tokens[i].text);
      if (synonyms.length === 0) continue;
      tokens[i] = { text: matchCase(pickOne(synonyms, rng), tokens[i].text), word: true };
      replaced++;
    }
    return detokenize(tokens);
  }

  /** n times: a synonym of a random content word, inserted before a random word. */
  randomInsertion(text: string, rate: number, rng: Rng): string {
    const tokens = tokenize(text);
    const n = count(rate, wordCount(tokens));
    const sources = tokens.filter((t) => this.editable(t));
    for (let k = 0; k < n; k++) {
      let synonym: string | null = null;
      for (let tries = 0; tries < 10 && !synonym && sources.length > 0; tries++) {
        const synonyms = this.usableSynonyms(pickOne(sources, rng).text);
        if (synonyms.length > 0) synonym = pickOne(synonyms, rng);
      }
      if (!synonym) break;
      // Before any word, or right after the last one (so never after a final full stop).
      const words = tokens.flatMap((t, i) => (t.word ? [i] : []));
      const slots = [...words, (words.at(-1) ?? -1) + 1];
      tokens.splice(pickOne(slots, rng), 0, { text: synonym, word: true });
    }
    return detokenize(tokens);
  }

  /** n times: two random words trade places (punctuation stays put). */
  randomSwap(text: string, rate: number, rng: Rng): string {
    const tokens = tokenize(text);
    const words = tokens.flatMap((t, i) => (t.word ? [i] : []));
    if (words.length < 2) return text;
    const n = count(rate, words.length);
    for (let k = 0; k < n; k++) {
      const a = pickOne(words, rng);
      let b = a;
      for (let tries = 0; tries < 5 && b === a; tries++) b = pickOne(words, rng);
      [tokens[a], tokens[b]] = [tokens[b], tokens[a]];
    }
    return detokenize(tokens);
  }

  /** Deletes each unprotected word with probability p; at least one word survives. */
  randomDeletion(text: string, p: number, rng: Rng): string {
    const tokens = tokenize(text);
    const words = tokens.filter((t) => t.word);
    if (words.length <= 1) return text;
    const kept = tokens.filter((t) => !t.word || this.protectedWords.has(t.text.toLowerCase()) || rng.next() >= p);
    if (!kept.some((t) => t.word)) return pickOne(words, rng).text;
    return detokenize(dropDanglingPunctuation(kept));
  }

  apply(op: EdaOperation, text: string, rate: number, rng: Rng): string {
    switch (op) {
      case 'synonym':
        return this.synonymReplacement(text, rate, rng);
      case 'insert':
        return this.randomInsertion(text, rate, rng);
      case 'swap':
        return this.randomSwap(text, rate, rng);
      case 'delete':
        return this.randomDeletion(text, rate, rng);
    }
  }
}

/**
 * Variant j of original i depends only on (seed, i, j): the stream of an original is the same
 * whatever prefix of it is asked for, so sets can be extended and ratios share their prefix.
 */
export function edaGenerator(eda: Eda, rates: EdaRates, seed: number): VariantGenerator {
  const enabled = OPERATIONS.filter((op) => rates[op] > 0);
  const variant = (original: Original, j: number): string => {
    const start = seedFrom('eda-op', seed, original.index) % enabled.length;
    let out = original.text;
    // An edit can leave the text unchanged (no synonym known, one word): try the next operation.
    for (let attempt = 0; attempt < enabled.length * 2 && out === original.text; attempt++) {
      const op = enabled[(start + j + attempt) % enabled.length];
      out = eda.apply(op, original.text, rates[op], createRng(seedFrom('eda', seed, original.index, j, attempt)));
    }
    return out;
  };
  return {
    async generate(originals, from, to, onVariants) {
      const out: string[][] = [];
      for (const original of originals) {
        const row: string[] = [];
        for (let j = from; j < to; j++) row.push(variant(original, j));
        out.push(row);
        onVariants?.(to - from);
        if (out.length % 500 === 0) await yieldToEventLoop();
      }
      return { variants: out, counts: {} };
    },
  };
}

function count(rate: number, words: number): number {
  return Math.max(1, Math.round(rate * words));
}

function wordCount(tokens: Token[]): number {
  return tokens.reduce((n, t) => n + (t.word ? 1 : 0), 0);
}

function matchCase(replacement: string, original: string): string {
  return /^\p{Lu}/u.test(original) ? replacement[0].toUpperCase() + replacement.slice(1) : replacement;
}

/** After deletions: no punctuation at the start, no two separators in a row. */
function dropDanglingPunctuation(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    if (!t.word && /^[,;:]$/.test(t.text) && (out.length === 0 || !out[out.length - 1].word)) continue;
    out.push(t);
  }
  return out;
}
