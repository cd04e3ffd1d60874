/**
 * The launcher interface: what an engine that runs workers (a local process pool, a Slurm job
 * array, ...) must do. `mmrun run`, `mmrun status` and `mmrun cancel` talk to it only; engines are
 * registered by name in engines.ts. How to add one: README.md in this folder, docs/contracts.md
 * ("Launcher").
 */
import type { Launcher as LauncherConfig } from '../config/types.gen.ts';
import type { Plan, RunSpec } from '../sweep/index.ts';
import type { RunStatus } from '../track/run-store.ts';
import type { Machine } from './slots.ts';
import type { SweepFiles } from './sweep-files.ts';

/** A sweep as the commands know it: its plan, where its files are, which engine its config names. */
export interface SweepRef {
  plan: Plan;
  artifactsDir: string;
  files: SweepFiles;
  /** `launcher.type` of the experiment file. */
  configured: string;
  env: NodeJS.ProcessEnv;
}

/** A batch of runs to launch, with everything the engine needs. */
export interface LaunchRequest extends SweepRef {
  /** The runs to launch (not finished yet; a subset of plan.runs with --only). */
  runs: RunSpec[];
  launcher: LauncherConfig;
  /** The worker command before the run directory. */
  workerCommand: string[];
  experimentFile: string;
  /** Plain lines for the user. */
  say: (line: string) => void;
  /** Raw output (the live display). */
  write: (s: string) => void;
  tty?: boolean;
  /** Install SIGINT/SIGTERM handlers while following (the CLI does). */
  handleSignals?: boolean;
  /** --jobs */
  jobs?: number;
  /** --only: one run at a time, its output on this terminal. */
  foreground?: boolean;
  /** --detach: submit and return (engines whose runs outlive the launcher). */
  detach?: boolean;
  machine?: Machine;
}

/** How one run of the batch ended. */
export interface RunEnd {
  spec: RunSpec;
  state: 'finished' | 'failed' | 'killed';
  error?: RunStatus['error'];
  attempts: number;
  /** Finished by a worker this launcher adopted (left by an earlier launcher), not started here. */
  adopted?: boolean;
}

export interface LaunchResult {
  ends: RunEnd[];
  /** Why the batch stopped early, if it did. */
  how?: 'interrupted' | 'fail_fast' | 'detached';
}

/** A run as the engine sees it right now (a live local worker, a Slurm array task). */
export interface EngineRunState {
  runId: string;
  /** The engine's name for it: "pid 1234", "12_3". */
  task: string;
  /** The engine's word for its state: RUNNING, PENDING, COMPLETED, ... */
  state: string;
  /** Pending or running in the engine. */
  active: boolean;
}

export interface Launcher {
  /** The `launcher.type` that selects it. */
  readonly name: string;
  /** Throws an MmrunError when the engine cannot be used here; called before anything is written. */
  checkAvailable(env: NodeJS.ProcessEnv): Promise<void>;
  /** Whether this engine may hold runs of the sweep (so status and cancel ask it). */
  involved(sweep: SweepRef): boolean;
  /**
   * Takes back what a launcher killed earlier left in the engine (workers still running, jobs
   * submitted but not released); returns the ids of runs now followed rather than launched again.
   */
  adoptOrphans(req: LaunchRequest): Promise<string[]>;
  /** Launches the batch and follows it until every run ended (or the user stopped following). */
  submit(req: LaunchRequest): Promise<LaunchResult>;
  /** The sweep's runs as the engine sees them (runs it knows nothing about are left out). */
  states(sweep: SweepRef): Promise<EngineRunState[]>;
  /** Stops the sweep's runs (they checkpoint; `mmrun run` resumes them); returns what was done, [] when nothing. */
  cancel(sweep: SweepRef, opts: { now?: boolean }): Promise<string[]>;
}
