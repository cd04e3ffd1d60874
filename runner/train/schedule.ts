// Learning rate at a step of a phase: linear warm-up, then constant, cosine or linear decay to 0.
import type { Phase } from '../config/types.gen.ts';

export function learningRateAt(phase: Pick<Phase, 'learning_rate' | 'schedule' | 'warmup_steps'>, step: number, totalSteps: number): number {
  const base = phase.learning_rate;
  const warmup = Math.min(phase.warmup_steps, Math.max(0, totalSteps - 1));
  if (warmup > 0 && step < warmup) return (base * (step + 1)) / warmup;
  if (phase.schedule === 'constant') return base;
  const span = Math.max(1, totalSteps - warmup);
  const progress = Math.min(1, Math.max(0, (step - warmup) / span));
  return phase.schedule === 'cosine' ? base * 0.5 * (1 + Math.cos(Math.PI * progress)) : base * (1 - progress);
}
