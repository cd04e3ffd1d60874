/** Datasets (docs/contracts.md, "Datasets"): build or find, then load. */
export { ensureDataset, datasetLocation, datasetName, descriptionCacheFile } from './build.ts';
export type { EnsureOptions } from './build.ts';
export { loadDataset, loadAttributes, readManifest, readTexts, textStats } from './store.ts';
export type { Dataset, Split, SplitName, DatasetRef, DatasetManifest, BuildPlan, ProgressEvent, TextStats } from './types.ts';
export { renderDescription, describeImage, extractAttributes } from './describe/attributes.ts';
export type { ImageAttributes, StrokeAttributes, ColourAttributes, RenderOptions } from './describe/attributes.ts';
export { createRng, seedFrom, type Rng } from '../random.ts';
