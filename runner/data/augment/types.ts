/** Augmented text sets (docs/contracts.md, "Datasets"): what the retrain phase adds to its texts. */

export interface AugmentedText {
  label: number;
  text: string;
  /** Index of the original it was made from, in [...train.texts, ...extraTrainTexts]. */
  source: number;
}

export interface AugmentedSet {
  /** artifacts/augmented/<key>/, or null for method none. */
  dir: string | null;
  key: string | null;
  method: string;
  /** Variants stored per original: the largest ratio textsFor can serve is this. */
  variantsPerText: number;
  /** Originals the variants were made from (training texts, then keep_all_texts extras). */
  originals: number;
  /** Outputs dropped while building (llm: empty, duplicate, off_class, names_class). */
  filtered: Record<string, number>;
  /** found: already built; built: built or extended now. */
  status: 'found' | 'built' | 'none';
  /**
   * Whether a variant describes the image of its source text (eda, llm paraphrase) or is a new,
   * class-conditional description of no particular image (attribute-resample, llm generate).
   */
  describesSource: boolean;
  /**
   * Whether the retrain phase must put a variant in its source image's pool (eda, llm
   * paraphrase: it describes that image; repair: it is another same-class image's description
   * re-paired with the source image, never with its own image). Otherwise variants go
   * round-robin to the images of their class.
   */
  pairedWithSource: boolean;
  /**
   * The augmented texts a run at this ratio trains on (originals not included; ratio 0 → []).
   * Ratio r uses the first floor(r) variants of every original, plus one more variant for a
   * fixed, seeded subset of round(frac(r) × originals) of them: a smaller ratio's texts are
   * always a subset of a larger ratio's.
   */
  textsFor(ratio: number): AugmentedText[];
}

/** A training text an augmentation starts from. */
export interface Original {
  index: number;
  label: number;
  text: string;
}

export interface GenerationResult {
  /** variants[k][v]: variant `from + v` of originals[k]; every row has `to - from` entries. */
  variants: string[][];
  /** Outputs dropped, by reason. */
  counts: Record<string, number>;
  /** LLM usage, when there is any. */
  usage?: Record<string, number>;
}

/**
 * Makes variants [from, to) of each original (`stored`: the variants [0, from) already kept).
 * Seeded generators make variant j of an original independently of `from`.
 */
export interface VariantGenerator {
  generate(originals: Original[], from: number, to: number, onVariants?: (n: number) => void, stored?: string[][]): Promise<GenerationResult>;
}

export interface AugmentProgressEvent {
  stage: 'augment';
  label: string;
  done: number;
  total: number;
  unit: string;
  extra?: string;
}

export interface AugmentOptions {
  /** Root of the artifacts (config.artifacts_dir resolved). */
  artifactsDir: string;
  /**
   * Largest ratio the set must serve (default: config.augmentation.ratio). A sweep over ratios
   * passes its largest one so the set is built once, not extended run after run.
   */
  ratio?: number;
  onProgress?: (event: AugmentProgressEvent) => void;
  /** Where notes go: the llm cost estimate before requests, counts of dropped outputs after (default console.log). */
  log?: (line: string) => void;
  /** The run's seed: the augmentation seed when `augmentation.seed` is 'run' (required then). */
  runSeed?: number;
  /** Seconds to wait for another process building the same set (default 6 hours). */
  lockTimeoutS?: number;
}

export interface AugmentManifest {
  format: 1;
  key: string;
  method: string;
  params: unknown;
  seed: number;
  datasetHash: string;
  originals: number;
  variantsPerText: number;
  /** Files of variants, in order; each holds variants [from, to) of every original, one JSON array per line. */
  layers: { file: string; from: number; to: number; seconds: number }[];
  filtered: Record<string, number>;
  usage?: Record<string, number>;
  createdAt: string;
  updatedAt: string;
  builder: string;
}

/** Lets timers (the lock's heartbeat, progress bars, signals) run during long synchronous work. */
export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
