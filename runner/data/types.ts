/** Types shared by the dataset builder and its consumers (see docs/contracts.md, "Datasets"). */

export interface Split {
  images: Uint8Array; // N*H*W*C, row-major, channels last
  labels: Int32Array;
  texts: string[]; // texts[i] describes image i
}

export interface Dataset {
  dir: string;
  hash: string;
  classNames: string[];
  shape: [height: number, width: number, channels: number];
  train: Split;
  val: Split;
  test: Split;
  /** keep_all_texts: descriptions of training images that were dropped (image_fraction, max_per_class). */
  extraTrainTexts: { label: number; text: string }[];
}

export type SplitName = 'train' | 'val' | 'test';

/** Images as a source yields them, before splitting. */
export interface RawImages {
  images: Uint8Array; // N*H*W*C
  labels: Int32Array;
  count: number;
}

export interface SourceData {
  classNames: string[];
  shape: [number, number, number];
  train: RawImages;
  test: RawImages;
  /** Human-readable origin of each part, for the manifest. */
  files: string[];
  /** image-folder with skip_unreadable: files that could not be decoded. */
  skipped: { file: string; reason: string }[];
  /** How the test split was obtained (e.g. "t10k files" or "20% held out by split_seed"). */
  testOrigin: string;
}

export interface TextStats {
  count: number;
  meanWords: number;
  minWords: number;
  maxWords: number;
  vocabulary: number;
  distinct: number;
}

export interface SplitSummary {
  count: number;
  perClass: number[];
}

export interface DatasetManifest {
  format: 1;
  name: string;
  hash: string;
  createdAt: string;
  builder: string; // mmrun version that built it
  config: import('../config/types.gen.ts').Dataset;
  source: { type: string; path: string | null; files: string[]; testOrigin: string; skipped: { file: string; reason: string }[] };
  classNames: string[];
  shape: [number, number, number];
  splits: Record<SplitName, SplitSummary> & { extraTrainTexts: SplitSummary };
  descriptions: {
    describer: string;
    /** attributes describer: ATTRIBUTES_DESCRIBER_VERSION that wrote the texts. */
    describerVersion?: number;
    model: string | null;
    mentionClass: boolean;
    stats: TextStats;
    /** Linear probes: how well the descriptions alone identify the class (runner/data/describe/informativeness.ts). */
    informativeness?: import('./describe/informativeness.ts').Informativeness;
    usage?: import('./llm/usage.ts').UsageTotals;
    /** openai describer: answers dropped by the shared filter (runner/data/llm/filter.ts), by reason. */
    filtered?: Record<string, number>;
  };
  /** sha256 of every stored data file, in a fixed order. */
  contentHash: string;
  buildSeconds: number;
}

export interface DatasetRef {
  name: string;
  hash: string;
  dir: string;
  /** found: already built; built: built now; planned: dry run, nothing written. */
  status: 'found' | 'built' | 'planned';
  manifest?: DatasetManifest;
  /** Dry run: what a build would do. */
  plan?: BuildPlan;
}

export interface BuildPlan {
  counts: Record<SplitName, number> & { extraTrainTexts: number };
  toDescribe: number;
  llm?: import('./llm/usage.ts').CostEstimate;
}

export interface ProgressEvent {
  stage: 'load' | 'describe' | 'write';
  label: string;
  done: number;
  total: number;
  unit: string;
  extra?: string;
}
