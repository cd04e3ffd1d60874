/**
 * runner/report: comparing the runs of an experiment over seeds, and the HTML report.
 *
 *   loadStudy(file)            plan + run directories (through runner/track/run-store.ts)
 *   compareStudy(study, opts)  rows per grid cell × ablation, deltas vs the control arm
 *   formatComparison(fmt, c)   table | csv | json | markdown
 *   buildReport(study, opts)   report.html + plots/*.svg|png
 *
 * stats.ts, aggregate.ts, items.ts, units.ts, pca.ts, plots.ts, figures.ts, narrative.ts, html.ts
 * and format.ts are pure; load.ts, item-files.ts, study.ts, render.ts and build.ts do the I/O.
 */
export * from './stats.ts';
export { compareRuns, defaultBy, availableMetrics, ratioOf, valueOf, parseControl, controlProblems, describeControl, MIN_BOOTSTRAP_PAIRS, RATIO_PATH } from './aggregate.ts';
export type { Comparison, CompareOptions, ControlArm, ItemEvidence, MetricDelta, Row, RowRole, RunResult, ReportRunState, Verdict } from './aggregate.ts';
export { ITEM_METRICS, itemResults, type ItemResults } from './items.ts';
export { readItemResults, writeItemResults, ITEMS_FILE } from './item-files.ts';
export { formatMetricValue, formatNumber, unitOf } from './units.ts';
export { loadPlanRuns, loadRunDetails, artifactsDirOf, type LoadedRuns, type RunDetails, type EmbeddingsFile } from './load.ts';
export { loadStudy, compareStudy, chooseMetrics, requireFinished, resolveControl, DEFAULT_METRICS, type Study } from './study.ts';
export { formatComparison, FORMATS, type OutputFormat } from './format.ts';
export { pca, type Pca } from './pca.ts';
export { writeNarrative, effectSentence, type Narrative } from './narrative.ts';
export { renderSvg, svgToPng } from './render.ts';
export { buildReport, defaultReportPath, REPORT_METRICS, type ReportOptions, type ReportResult } from './build.ts';
