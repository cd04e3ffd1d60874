// Tokenizer built from the training texts: word level (lower-cased words and punctuation) or a
// WordPiece-style subword level (greedy longest match over pieces learnt from the corpus).
// Saved as JSON in the run directory so a run's text inputs can be reproduced: saveTokenizer
// writes a checksummed envelope ({sha256, value}, runner/files/verified.ts) atomically;
// loadTokenizer verifies it and checks the structure, so a damaged vocabulary is never used.
import { CorruptFileError, readVerifiedJson, writeVerifiedJson } from '../files/verified.ts';
import { readFileSync } from 'node:fs';

export const PAD = 0;
export const UNK = 1;
export const CLS = 2;
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]'];
const CONTINUATION = '##';
const MAX_PIECE = 12;

export interface TokenizerJson {
  format: 'mmrun-tokenizer-1';
  kind: 'word' | 'subword';
  maxLen: number;
  addCls: boolean;
  vocab: string[];
}

export interface TokenizerOptions {
  kind: 'word' | 'subword';
  vocabSize: number;
  maxLen: number;
  addCls: boolean;
}

export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** How much of a corpus a text branch of `maxLen` tokens reads, counting one token per word (the word tokenizer's count; subword pieces only add to it). Pure. */
export interface TruncationReport {
  /** Share of the texts longer than the branch reads. */
  cut: number;
  medianWords: number;
  longestWords: number;
  /** Room for words: maxLen, less the [CLS] token when pooling uses one. */
  capacity: number;
  /** The smallest multiple of 16 that reads 95% of the texts whole. */
  suggestedMaxLen: number;
}

export function truncationReport(texts: readonly string[], maxLen: number, addCls: boolean): TruncationReport {
  const lengths = texts.map((t) => splitWords(t).length).sort((a, b) => a - b);
  const capacity = maxLen - (addCls ? 1 : 0);
  const at = (q: number) => (lengths.length ? lengths[Math.min(lengths.length - 1, Math.floor(q * lengths.length))] : 0);
  return {
    cut: lengths.length ? lengths.filter((n) => n > capacity).length / lengths.length : 0,
    medianWords: at(0.5),
    longestWords: lengths.at(-1) ?? 0,
    capacity,
    suggestedMaxLen: Math.max(16, Math.ceil((at(0.95) + (addCls ? 1 : 0)) / 16) * 16),
  };
}

function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of splitWords(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Most frequent first; ties broken alphabetically so the vocabulary is deterministic. */
function byFrequency(counts: Map<string, number>): string[] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([w]) => w);
}

function learnSubwordVocab(words: Map<string, number>, size: number): string[] {
  const chars = new Map<string, number>();
  const pieces = new Map<string, number>();
  for (const [w, f] of words) {
    const cs = [...w];
    cs.forEach((c, i) => {
      const key = i === 0 ? c : CONTINUATION + c;
      chars.set(key, (chars.get(key) ?? 0) + f);
    });
    for (let start = 0; start < cs.length; start++) {
      for (let len = 2; len <= Math.min(MAX_PIECE, cs.length - start); len++) {
        const piece = (start === 0 ? '' : CONTINUATION) + cs.slice(start, start + len).join('');
        // Longer pieces save more tokens: weight by the characters they cover beyond one.
        pieces.set(piece, (pieces.get(piece) ?? 0) + f * (len - 1));
      }
    }
  }
  const vocab = [...SPECIALS, ...byFrequency(chars)];
  const seen = new Set(vocab);
  for (const p of byFrequency(pieces)) {
    if (vocab.length >= size) break;
    if (!seen.has(p)) {
      vocab.push(p);
      seen.add(p);
    }
  }
  return vocab.slice(0, Math.max(size, SPECIALS.length));
}

export class Tokenizer {
  private readonly index: Map<string, number>;

  private constructor(readonly json: TokenizerJson) {
    this.index = new Map(json.vocab.map((t, i) => [t, i]));
  }

  static build(texts: Iterable<string>, opts: TokenizerOptions): Tokenizer {
    const words = countWords(texts);
    const vocab =
      opts.kind === 'word'
        ? [...SPECIALS, ...byFrequency(words)].slice(0, Math.max(opts.vocabSize, SPECIALS.length))
        : learnSubwordVocab(words, opts.vocabSize);
    return new Tokenizer({ format: 'mmrun-tokenizer-1', kind: opts.kind, maxLen: opts.maxLen, addCls: opts.addCls, vocab });
  }

  static fromJson(json: TokenizerJson): Tokenizer {
    if (json.format !== 'mmrun-tokenizer-1') throw new Error(`unknown tokenizer format ${String(json.format)}`);
    return new Tokenizer(json);
  }

  get vocabSize(): number {
    return this.json.vocab.length;
  }

  get maxLen(): number {
    return this.json.maxLen;
  }

  tokens(text: string): number[] {
    const out: number[] = this.json.addCls ? [CLS] : [];
    for (const w of splitWords(text)) {
      if (this.json.kind === 'word') out.push(this.index.get(w) ?? UNK);
      else out.push(...this.pieces(w));
      if (out.length >= this.json.maxLen) break;
    }
    return out.slice(0, this.json.maxLen);
  }

  private pieces(word: string): number[] {
    const whole = this.index.get(word);
    if (whole !== undefined) return [whole];
    const cs = [...word];
    const out: number[] = [];
    let start = 0;
    while (start < cs.length) {
      let found = -1;
      let end = Math.min(cs.length, start + MAX_PIECE);
      for (; end > start; end--) {
        const id = this.index.get((start === 0 ? '' : CONTINUATION) + cs.slice(start, end).join(''));
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      if (found < 0) return [UNK];
      out.push(found);
      start = end;
    }
    return out;
  }

  /** Token ids of every text, padded with [PAD] to maxLen: an N×maxLen row-major matrix. */
  encodeAll(texts: readonly string[]): Int32Array {
    const L = this.json.maxLen;
    const ids = new Int32Array(texts.length * L);
    texts.forEach((t, i) => {
      const toks = this.tokens(t);
      for (let j = 0; j < toks.length; j++) ids[i * L + j] = toks[j];
    });
    return ids;
  }

  toJSON(): TokenizerJson {
    return this.json;
  }
}

/** Writes the tokenizer as a checksummed JSON envelope, atomically. */
export function saveTokenizer(file: string, tokenizer: Tokenizer): void {
  writeVerifiedJson(file, tokenizer.toJSON());
}

/**
 * Reads a tokenizer written by saveTokenizer: undefined when the file does not exist,
 * CorruptFileError naming the file when it is damaged (checksum, JSON or structure). A file from
 * an older mmrun (plain JSON, no envelope) is accepted when its structure is sound: the joint
 * checkpoints that go with it were trained on it, and it carries no checksum to check.
 */
export function loadTokenizer(file: string): Tokenizer | undefined {
  let json: unknown;
  try {
    json = readVerifiedJson<TokenizerJson>(file);
  } catch (err) {
    if (!(err instanceof CorruptFileError) || !/no checksum envelope/.test(err.reason)) throw err;
    json = JSON.parse(readFileSync(file, 'utf8')); // valid JSON: readVerifiedJson parsed it
  }
  if (json === undefined) return undefined;
  const problem = tokenizerProblem(json);
  if (problem) throw new CorruptFileError(file, problem);
  return Tokenizer.fromJson(json as TokenizerJson);
}

function tokenizerProblem(json: unknown): string | undefined {
  const t = json as Partial<TokenizerJson> | null;
  if (typeof t !== 'object' || t === null) return 'not a tokenizer';
  if (t.format !== 'mmrun-tokenizer-1') return `unknown tokenizer format ${String(t.format)}`;
  if (t.kind !== 'word' && t.kind !== 'subword') return `kind must be word or subword, got ${String(t.kind)}`;
  if (!Number.isInteger(t.maxLen) || (t.maxLen as number) < 1) return `maxLen must be a positive integer, got ${String(t.maxLen)}`;
  if (typeof t.addCls !== 'boolean') return 'addCls must be true or false';
  if (!Array.isArray(t.vocab) || t.vocab.length < SPECIALS.length || !t.vocab.every((v) => typeof v === 'string')) return 'vocab must be a list of strings';
  if (SPECIALS.some((s, i) => t.vocab![i] !== s)) return `vocab must start with ${SPECIALS.join(', ')}`;
  if (new Set(t.vocab).size !== t.vocab.length) return 'vocab has repeated entries';
  return undefined;
}
