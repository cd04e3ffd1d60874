// Test data shaped as docs/contracts.md describes RunSpec and Plan, for the track/ tests
// (a resolved quickstart-like config; does not depend on runner/sweep).
import { createHash } from 'node:crypto';
import type { Experiment } from '../../runner/config/types.gen.ts';
import type { Plan, RunSpec } from '../../runner/track/plan-types.ts';

export function baseConfig(): Experiment {
  return structuredClone(BASE) as unknown as Experiment;
}

function hex(text: string, n: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, n);
}

/** A RunSpec with coordinates applied to a copy of the base config. */
export function sampleSpec(opts: { seed?: number; ratio?: number; frac?: number; ablation?: string; name?: string } = {}): RunSpec {
  const seed = opts.seed ?? 0;
  const config = baseConfig();
  config.name = opts.name ?? config.name;
  config.seeds = [seed];
  const coords: Record<string, unknown> = {};
  if (opts.ratio !== undefined) {
    config.augmentation.ratio = opts.ratio;
    coords['augmentation.ratio'] = opts.ratio;
  }
  if (opts.frac !== undefined) {
    config.dataset.image_fraction = opts.frac;
    coords['dataset.image_fraction'] = opts.frac;
  }
  const ablation = opts.ablation ?? 'baseline';
  const label = [
    ...(opts.ratio !== undefined ? [`ratio=${opts.ratio}`] : []),
    ...(opts.frac !== undefined ? [`frac=${opts.frac}`] : []),
    ...(ablation !== 'baseline' ? [ablation] : []),
    `seed=${seed}`,
  ].join(' ');
  return { id: hex(JSON.stringify({ config, ablation }), 12), name: label, coords, ablation, seed, config };
}

/** A plan of ratios x seeds (x an ablation when asked). */
export function samplePlan(opts: { name?: string; ratios?: number[]; seeds?: number[]; ablations?: string[] } = {}): Plan {
  const ratios = opts.ratios ?? [0, 4];
  const seeds = opts.seeds ?? [0, 1];
  const ablations = ['baseline', ...(opts.ablations ?? [])];
  const runs: RunSpec[] = [];
  for (const ratio of ratios) for (const ablation of ablations) for (const seed of seeds) runs.push(sampleSpec({ ratio, seed, ablation, name: opts.name }));
  const experiment = opts.name ?? BASE.name;
  return {
    experiment,
    sweepId: `${experiment}-${hex(runs.map((r) => r.id).join(','), 8)}`,
    file: `/tmp/${experiment}.yaml`,
    contentHash: hex(experiment + ratios.join(), 16),
    runs,
    factors: { grid: { 'augmentation.ratio': ratios.length }, ablations: ablations.length, seeds: seeds.length },
  };
}

const BASE = {
  "name": "demo",
  "description": "Does more text help images?",
  "dataset": {
    "source": "mnist",
    "class_names": [
      "0",
      "1",
      "2",
      "3",
      "4",
      "5",
      "6",
      "7",
      "8",
      "9"
    ],
    "image_size": 32,
    "val_fraction": 0.1,
    "split_seed": 0,
    "image_fraction": 1,
    "keep_all_texts": false,
    "max_per_class": null,
    "max_test": null,
    "skip_unreadable": false
  },
  "model": {
    "backend": "auto",
    "image": {
      "preset": "small",
      "filters": [
        16,
        32
      ],
      "kernel_size": 3,
      "batch_norm": true,
      "dense": 64,
      "dropout": 0.1
    },
    "text": {
      "preset": "small",
      "vocab_size": 2000,
      "max_len": 32,
      "dim": 64,
      "layers": 1,
      "heads": 2,
      "pooling": "mean"
    },
    "projection": {
      "dim": 32,
      "layers": 1,
      "normalize": true
    },
    "head": "shared"
  },
  "augmentation": {
    "method": "none",
    "ratio": 0,
    "seed": 0,
    "eda": {
      "synonym": 0.1,
      "insert": 0.1,
      "swap": 0.1,
      "delete": 0.1
    },
    "llm": {
      "mode": "paraphrase"
    }
  },
  "training": {
    "joint": {
      "enabled": true,
      "epochs": 3,
      "batch_size": 64,
      "optimizer": "adam",
      "learning_rate": 0.001,
      "schedule": "constant",
      "warmup_steps": 0,
      "loss_weights": {
        "image": 1,
        "text": 1,
        "align": 0.5
      },
      "freeze": [],
      "early_stopping": null
    },
    "retrain": {
      "enabled": false,
      "epochs": 2,
      "batch_size": 64,
      "optimizer": "adam",
      "learning_rate": 0.001,
      "schedule": "constant",
      "warmup_steps": 0,
      "loss_weights": {
        "image": 1,
        "text": 1,
        "align": 0.5
      },
      "freeze": [],
      "early_stopping": null
    },
    "temperature": 0.07
  },
  "evaluation": {
    "retrieval_k": [
      1,
      5
    ],
    "retrieval_pool": 1000,
    "embeddings_sample": 500
  },
  "launcher": {
    "type": "local",
    "jobs": "auto",
    "threads_per_run": 1,
    "retries": 0,
    "retry_backoff_s": 5,
    "fail_fast": false,
    "timeout_minutes": null,
    "slurm": {
      "partition": null,
      "time": "04:00:00",
      "cpus_per_task": 1,
      "mem": null,
      "gpus": 0,
      "account": null,
      "extra_args": []
    }
  },
  "tracking": {
    "experiment": null,
    "uri": null,
    "log_checkpoints": false
  },
  "grid": {},
  "ablations": {},
  "artifacts_dir": "artifacts",
  "seeds": 1
};
