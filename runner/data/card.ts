/** The dataset card printed by `mmrun dataset show` (pure formatting) and its sample choice. */
import { formatInformativeness } from './describe/informativeness.ts';
import type { Dataset, DatasetManifest } from './types.ts';

/** Up to `n` indices spread over classes: one per class in turn, deterministic. */
export function sampleIndices(labels: Int32Array, numClasses: number, n: number): number[] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((l, i) => byClass[l].push(i));
  const out: number[] = [];
  for (let round = 0; out.length < n; round++) {
    let added = false;
    for (let c = 0; c < numClasses && out.length < n; c++) {
      if (round < byClass[c].length) {
        out.push(byClass[c][round]);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

export function formatCard(m: DatasetManifest, ds: Dataset, pairs = 5): string {
  const s = m.splits;
  const st = m.descriptions.stats;
  const nameW = Math.max(5, ...m.classNames.map((c) => c.length));
  const lines = [
    `Dataset ${m.name}-${m.hash}`,
    `  source       ${m.source.type}${m.source.path ? ` (${m.source.path})` : ''}; test split: ${m.source.testOrigin}`,
    `  images       ${m.shape[0]}×${m.shape[1]}×${m.shape[2]} uint8`,
    `  classes      ${m.classNames.length}: ${m.classNames.join(', ')}`,
    `  split seed   ${m.config.split_seed}; val_fraction ${m.config.val_fraction}; image_fraction ${m.config.image_fraction}; max_per_class ${m.config.max_per_class ?? 'none'}; max_test ${m.config.max_test ?? 'none'}`,
    `  descriptions ${m.descriptions.describer}${m.descriptions.model ? ` (${m.descriptions.model})` : ''}, class named: ${m.descriptions.mentionClass ? 'yes' : 'no'}`,
    `  texts        ${st.count} (${st.distinct} distinct), ${st.meanWords} words on average (min ${st.minWords}, max ${st.maxWords}), vocabulary ${st.vocabulary}`,
    ...(m.descriptions.informativeness ? [`  informative  ${formatInformativeness(m.descriptions.informativeness)}`] : []),
    ...(m.descriptions.usage ? [`  LLM usage    ${m.descriptions.usage.requests} requests, ${m.descriptions.usage.inputTokens} input + ${m.descriptions.usage.outputTokens} output tokens, $${m.descriptions.usage.costUsd.toFixed(4)}`] : []),
    ...(m.source.skipped.length ? [`  skipped      ${m.source.skipped.length} unreadable file(s): ${m.source.skipped.slice(0, 5).map((x) => x.file).join(', ')}${m.source.skipped.length > 5 ? ', …' : ''}`] : []),
    `  built        ${m.createdAt} by ${m.builder} in ${m.buildSeconds}s; content sha256 ${m.contentHash.slice(0, 16)}…`,
    '',
    `  ${'class'.padEnd(nameW)}  ${'train'.padStart(6)} ${'val'.padStart(6)} ${'test'.padStart(6)}${s.extraTrainTexts.count ? ` ${'extra'.padStart(6)}` : ''}`,
    ...m.classNames.map(
      (c, i) =>
        `  ${c.padEnd(nameW)}  ${String(s.train.perClass[i]).padStart(6)} ${String(s.val.perClass[i]).padStart(6)} ${String(s.test.perClass[i]).padStart(6)}${s.extraTrainTexts.count ? ` ${String(s.extraTrainTexts.perClass[i]).padStart(6)}` : ''}`,
    ),
    `  ${'total'.padEnd(nameW)}  ${String(s.train.count).padStart(6)} ${String(s.val.count).padStart(6)} ${String(s.test.count).padStart(6)}${s.extraTrainTexts.count ? ` ${String(s.extraTrainTexts.count).padStart(6)}` : ''}`,
    '',
    'Sample pairs (train):',
  ];
  for (const i of sampleIndices(ds.train.labels, m.classNames.length, pairs)) {
    lines.push(`  [${m.classNames[ds.train.labels[i]]}] ${ds.train.texts[i]}`);
  }
  return lines.join('\n');
}
