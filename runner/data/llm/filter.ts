/**
 * The one filter every LLM-written text passes before it reaches a dataset or an augmented set
 * (the `openai` describer and `llm` augmentation share it). An output is dropped, and counted by
 * reason, when it is:
 * - empty: nothing left after trimming punctuation and spaces;
 * - refusal: the model declined ("I'm sorry, I can't…", "As an AI…");
 * - duplicate: the same words as a text kept before (or one of the `existing` texts);
 * - off_class: it names another class than its own;
 * - names_class: it names its own class (or the class's number word) while the dataset's texts
 *   never do (`mention_class: false`);
 * - failed: no usable answer at all (the request failed for good); counted by the caller.
 * Pure: no I/O.
 */

export const FILTER_REASONS = ['empty', 'refusal', 'duplicate', 'off_class', 'names_class', 'failed'] as const;
export type FilterReason = (typeof FILTER_REASONS)[number];
export type FilterCounts = Record<FilterReason, number>;

export const emptyCounts = (): FilterCounts => ({ empty: 0, refusal: 0, duplicate: 0, off_class: 0, names_class: 0, failed: 0 });

export const normalise = (s: string): string => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();

// Nouns a description counts ("the two loops", "a one-piece stroke" is caught by the hyphen rule).
const COUNTED = '(?:loops?|strokes?|pieces?|parts?|lines?|curves?|segments?|ends?|holes?|circles?|sides?|halves|half|times?|dots?|bars?|points?|corners?|arcs?|branches|branch|bumps?|gaps?|components?|sections?|areas?|regions?|colou?rs?|shapes?)(?![\\p{L}])';
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * A matcher for a class name as a whole word (plural allowed), case-insensitive. A numeric name
 * (MNIST's '7') counts as a noun ("digit 7", "a seven", "the 7") or as its number word in
 * brackets ("(seven)") — not "two loops" or "one-stroke", which every digit's description may say.
 */
export function nameMatcher(name: string): RegExp {
  const n = name.trim();
  if (/^\d+$/.test(n)) {
    const word = NUMBER_WORDS[Number(n)] && n.length === 1 ? NUMBER_WORDS[Number(n)] : undefined;
    const forms = [n, ...(word ? [word] : [])].join('|');
    const noun = `(?<![\\p{L}\\p{N}])(?:digit|number|numeral|class|an?|the)\\s+(?:${forms})(?![\\p{L}\\p{N}-])(?!\\s+(?:[\\p{L}-]+\\s+)?${COUNTED})`;
    const bracketed = `[("'“](?:${forms})[)"'”]`;
    return new RegExp(`${noun}|${bracketed}`, 'iu');
  }
  const escaped = n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?:s|es)?(?![\\p{L}\\p{N}])`, 'iu');
}

// How models decline: apologies, "I can't …", statements about being an AI or not seeing the image.
const REFUSAL =
  /^\s*(?:sorry\b|i\s+apologi[sz]e)|\b(?:i['’]?m|i\s+am)\s+(?:sorry|unable|not\s+able)\b|\bi\s+(?:can(?:['’]?t|not)|won['’]?t|am\s+not\s+able\s+to)\s+(?:help|assist|comply|provide|describe|see|view|identify|analy[sz]e|process|fulfil+)\b|\bas\s+an?\s+(?:ai|language\s+model)\b|\b(?:no|not\s+an?)\s+image\s+(?:was|is|has\s+been)?\s*(?:provided|attached|included)/iu;

export function isRefusal(text: string): boolean {
  return REFUSAL.test(text);
}

/** Decides whether one output is kept; remembers kept texts to catch later duplicates. */
export class OutputFilter {
  readonly counts: FilterCounts = emptyCounts();
  private readonly seen = new Set<string>();
  private readonly matchers: RegExp[];

  constructor(
    readonly classNames: string[],
    private readonly mentionClass: boolean,
    existing: Iterable<string>,
  ) {
    this.matchers = classNames.map(nameMatcher);
    for (const t of existing) this.seen.add(normalise(t));
  }

  /** The reason `text` would be dropped, or null when it would be kept (records nothing). */
  verdict(text: string, label: number): FilterReason | null {
    const key = normalise(text);
    if (key === '') return 'empty';
    if (isRefusal(text)) return 'refusal';
    if (this.seen.has(key)) return 'duplicate';
    if (this.matchers.some((m, c) => c !== label && m.test(text))) return 'off_class';
    if (!this.mentionClass && this.matchers[label].test(text)) return 'names_class';
    return null;
  }

  accept(text: string, label: number): boolean {
    const reason = this.verdict(text, label);
    if (reason) return this.drop(reason);
    this.seen.add(normalise(text));
    return true;
  }

  drop(reason: FilterReason): false {
    this.counts[reason]++;
    return false;
  }

  /** Outputs dropped so far. */
  get dropped(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

export function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
