/**
 * Launcher engines by name (`launcher.type` in the experiment file). An engine is loaded only when
 * asked for. To add one: implement `Launcher` (launcher.ts) in its own folder, register it here,
 * and add its name to `launcher.type` in schemas/experiment.schema.json (README.md in this folder).
 */
import { MmrunError } from '../errors.ts';
import type { Launcher, SweepRef } from './launcher.ts';

const engines = new Map<string, () => Promise<Launcher>>([
  ['local', async () => (await import('./local.ts')).localLauncher],
  ['slurm', async () => (await import('./slurm/index.ts')).slurmLauncher],
]);

/** Adds (or replaces) an engine: tests and sites with their own engine. */
export function registerLauncher(name: string, load: () => Promise<Launcher>): void {
  engines.set(name, load);
}

export function launcherNames(): string[] {
  return [...engines.keys()];
}

export async function getLauncher(name: string): Promise<Launcher> {
  const load = engines.get(name);
  if (!load) throw new MmrunError(`launcher.type '${name}' is not a launcher mmrun knows; known: ${launcherNames().join(', ')}.`);
  const launcher = await load();
  if (launcher.name !== name) throw new Error(`launcher registered as '${name}' calls itself '${launcher.name}'`);
  return launcher;
}

/** The engines that may hold runs of this sweep: the configured one, and any other that says so. */
export async function launchersInvolvedIn(sweep: SweepRef): Promise<Launcher[]> {
  const out: Launcher[] = [];
  for (const name of launcherNames()) {
    const l = await getLauncher(name);
    if (name === sweep.configured || l.involved(sweep)) out.push(l);
  }
  return out;
}
