/**
 * The Launcher interface (runner/launch/launcher.ts), one suite run against every engine: `local`
 * and `slurm` (a real single-node cluster, tests/helpers/slurm-cluster.ts). Each test drives the
 * engine through the interface only — submit, states, cancel, adoptOrphans — so a new engine is
 * added to ENGINES and must pass the same tests. Runs wait for states (a gate file holds them in
 * "running"), never for time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLauncher, launchersInvolvedIn, sweepFiles, type Launcher, type LaunchRequest, type SweepRef } from '../../runner/launch/index.ts';
import { planExperiment } from '../../runner/plan-experiment.ts';
import { FIXTURE_WORKER, fixtureSweep, type FixtureSweep } from '../helpers/launch-sweep.ts';
import { slurmMissing, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.ts';
import { tempFiles } from '../helpers/tmp.ts';

interface Engine {
  name: string;
  /** Why it cannot run here (the test fails with this, unless MMRUN_ALLOW_MISSING_SERVICES=1). */
  missing(): string | undefined;
  /** Starts what the engine needs; returns the environment for its commands. */
  start(): Promise<{ env: NodeJS.ProcessEnv; stop(): Promise<void> }>;
}

const ENGINES: Engine[] = [
  { name: 'local', missing: () => undefined, start: async () => ({ env: {}, stop: async () => {} }) },
  {
    name: 'slurm',
    missing: slurmMissing,
    start: async () => {
      const cluster: SlurmCluster = await startSlurmCluster();
      return { env: { SLURM_CONF: cluster.conf, MMRUN_SLURM_POLL_MS: '300' }, stop: () => cluster.stop() };
    },
  },
];

const allowSkip = process.env.MMRUN_ALLOW_MISSING_SERVICES === '1';

/** Polls an async check until it holds. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

for (const engine of ENGINES) {
  const missing = engine.missing();
  describe.skipIf(missing !== undefined && allowSkip)(`launcher '${engine.name}' through the Launcher interface`, () => {
    let engineEnv: NodeJS.ProcessEnv = {};
    let stopEngine = async () => {};
    let launcher: Launcher;

    beforeAll(async () => {
      if (missing) throw new Error(`the ${engine.name} launcher cannot run here: ${missing}`);
      const started = await engine.start();
      engineEnv = started.env;
      stopEngine = started.stop;
      launcher = await getLauncher(engine.name);
    }, 300_000);
    afterAll(async () => {
      await stopEngine();
    }, 300_000);

    const sweep = (seeds: string, env: NodeJS.ProcessEnv = {}) =>
      fixtureSweep(`name: fx\nseeds: ${seeds}\nlauncher: { type: ${engine.name}, jobs: 2 }\n`, { ...engineEnv, ...env });

    /** The sweep as the commands see it, and a request to launch all its runs. */
    function request(s: FixtureSweep, env: NodeJS.ProcessEnv = {}): { ref: SweepRef; req: LaunchRequest; said: string[] } {
      const { loaded, plan } = planExperiment(s.file, { env: s.env });
      const artifactsDir = join(s.dir, 'artifacts');
      const ref: SweepRef = { plan, artifactsDir, files: sweepFiles(artifactsDir, plan.sweepId), configured: loaded.config.launcher.type, env: { ...s.env, ...env } };
      const said: string[] = [];
      const req: LaunchRequest = {
        ...ref,
        runs: plan.runs,
        launcher: loaded.config.launcher,
        workerCommand: [process.execPath, FIXTURE_WORKER],
        experimentFile: s.file,
        say: (line) => said.push(line),
        write: (text) => said.push(text),
        tty: false,
      };
      return { ref, req, said };
    }

    it('is registered under its name, usable here, and involved in sweeps configured for it', { timeout: 300_000 }, async () => {
      expect(launcher.name).toBe(engine.name);
      await launcher.checkAvailable({ ...process.env, ...engineEnv });
      const { ref } = request(await sweep('[0]'));
      expect((await launchersInvolvedIn(ref)).map((l) => l.name)).toContain(engine.name);
    });

    it('submit: every run of the batch ends, each with its fate recorded (exit 137 without the kernel saying OOM is a failure with cause killed)', { timeout: 300_000 }, async () => {
      const s = await sweep('[0, 1, 2]', { FIXTURE_BEHAVIOURS: '{"1":"exit137"}' });
      const { req } = request(s);
      const result = await launcher.submit(req);
      const [ok0, oom, ok2] = s.runIds;
      const endOf = (id: string) => result.ends.find((e) => e.spec.id === id);
      expect(endOf(ok0)?.state).toBe('finished');
      expect(endOf(ok2)?.state).toBe('finished');
      // Exit 137 without the kernel's (or Slurm's) word for an OOM kill is told as a kill (exit-cause.ts).
      expect(endOf(oom)).toMatchObject({ state: 'failed', error: { cause: 'killed' } });
      expect(s.status(oom)).toMatchObject({ state: 'failed', error: { cause: 'killed' }, launcher: { type: engine.name } });
      for (const id of [ok0, ok2]) expect(s.finishes(id)).toHaveLength(1);
    });

    it('states shows the runs of a running batch; cancel stops them (recorded killed) and then has nothing left to do', { timeout: 300_000 }, async () => {
      const s = await sweep('[0, 1]', { FIXTURE_EPOCHS: '2', FIXTURE_EPOCH_MS: '50' });
      const { ref } = request(s);
      // The runs hold their last epoch until this (never created) file exists: running until cancelled.
      const first = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: join(s.dir, 'gate') });
      await until('both runs running, as the engine sees them', async () => {
        const active = (await launcher.states(ref)).filter((t) => t.active).map((t) => t.runId);
        return s.runIds.every((id) => active.includes(id) && s.status(id)?.state === 'running');
      });
      for (const t of await launcher.states(ref)) {
        expect(s.runIds).toContain(t.runId);
        expect(t.task).not.toBe('');
        expect(t.state).not.toBe('');
      }
      const said = await launcher.cancel(ref, {});
      expect(said.length).toBeGreaterThan(0);
      expect(said.join('\n')).toMatch(/resume/);
      await first.exited;
      await until('no run active', async () => (await launcher.states(ref)).every((t) => !t.active));
      for (const id of s.runIds) expect(s.status(id)?.state).toBe('killed');
      expect(await launcher.cancel(ref, {})).toEqual([]);
    });

    it('adoptOrphans after kill -9 of the launcher: the runs still going are followed, and submit finishes each exactly once', { timeout: 300_000 }, async () => {
      const gate = tempFiles().path('gate'); // named in the sweep's env, so made before it
      const s = await sweep('[0, 1]', { FIXTURE_EPOCHS: '2', FIXTURE_EPOCH_MS: '50', FIXTURE_GATE: gate });
      const first = s.start(['run', 'sweep.yaml']);
      await until('both runs running', () => s.runIds.every((id) => s.status(id)?.state === 'running'));
      first.child.kill('SIGKILL');
      await first.exited;
      const { req } = request(s);
      expect((await launcher.adoptOrphans(req)).sort()).toEqual([...s.runIds].sort());
      writeFileSync(gate, '');
      const result = await launcher.submit(req);
      expect(result.ends.map((e) => e.state)).toEqual(['finished', 'finished']);
      for (const id of s.runIds) {
        expect(s.finishes(id)).toHaveLength(1);
        expect(s.starts(id)).toHaveLength(1); // followed, never started a second time
      }
    });
  });
}
