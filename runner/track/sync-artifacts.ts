// Which files of a run directory become MLflow artifacts, and how to tell they changed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { readJsonIfExists } from '../files/atomic.ts';
import { isTerminal } from './mlflow-mapping.ts';
import type { RunSpecFile, RunStatus, RunStore } from './run-store.ts';

export interface ArtifactSource {
  path: string; // relative path under the run's artifact root
  read: () => Buffer;
  /** Cheap change signature; by default the content hash. */
  signature?: () => string;
}

export function fileSource(path: string, file: string): ArtifactSource {
  return {
    path,
    read: () => readFileSync(file),
    signature: () => {
      const s = statSync(file);
      return `${s.size}:${Math.round(s.mtimeMs)}`;
    },
  };
}

export function runArtifacts(store: RunStore, spec: RunSpecFile, status: RunStatus, truncated: Record<string, string>): ArtifactSource[] {
  const out: ArtifactSource[] = [
    { path: 'config.json', read: () => Buffer.from(JSON.stringify(spec.config, null, 2) + '\n') },
  ];
  if (existsSync(store.path('summary'))) out.push(fileSource('summary.json', store.path('summary')));
  if (Object.keys(truncated).length) out.push({ path: 'mmrun/truncated-values.json', read: () => Buffer.from(JSON.stringify(truncated, null, 2) + '\n') });
  for (const f of listFiles(join(store.dir, 'plots'))) out.push(fileSource(`plots/${relative(join(store.dir, 'plots'), f)}`, f));
  if (isTerminal(status.state)) {
    if (existsSync(store.path('log'))) out.push(fileSource('log.txt', store.path('log')));
    if (spec.config.tracking?.log_checkpoints) out.push(...checkpointArtifacts(store));
  }
  return out;
}

function checkpointArtifacts(store: RunStore): ArtifactSource[] {
  const dir = store.path('checkpoints');
  // latest.json names the newest complete checkpoint (runner/train/checkpoint.ts).
  const name = readJsonIfExists<{ name?: string }>(join(dir, 'latest.json'))?.name;
  if (!name) return [];
  const ckpt = join(dir, basename(name));
  return listFiles(ckpt).map((f) => fileSource(`checkpoint/${basename(ckpt)}/${relative(ckpt, f)}`, f));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}
