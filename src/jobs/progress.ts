import type { ProgressCallback } from '../ml/core/progress.ts';
import type { JobTimings, JobType } from '../store/types.ts';

/** Stages of each job type with their share of the job's overall progress. */
export const STAGE_PLANS: Record<JobType, [stage: string, weight: number][]> = {
  pipeline: [
    ['load', 0.05],
    ['recommender', 0.35],
    ['sae', 0.35],
    ['evaluate', 0.15],
    ['label', 0.1],
  ],
  'train-recommender': [
    ['load', 0.1],
    ['recommender', 0.7],
    ['evaluate', 0.2],
  ],
  'train-sae': [
    ['load', 0.05],
    ['sae', 0.65],
    ['evaluate', 0.15],
    ['label', 0.15],
  ],
  evaluate: [
    ['load', 0.2],
    ['evaluate', 0.8],
  ],
  label: [
    ['load', 0.2],
    ['label', 0.8],
  ],
};

export interface StageProgress {
  stage: string;
  /** Overall job progress, 0–1. */
  progress: number;
  timings: JobTimings;
  message?: string;
}

/**
 * Turns "stage X is f done" into overall job progress and per-stage wall seconds. Stages run in plan
 * order; `enter` closes the previous stage's timing.
 */
export class StageTracker {
  private readonly plan: [string, number][];
  private current: string | null = null;
  private startedAt = 0;
  private readonly timings: JobTimings = {};

  constructor(
    type: JobType,
    private readonly emit: (p: StageProgress) => void,
  ) {
    this.plan = STAGE_PLANS[type];
  }

  enter(stage: string): void {
    this.close();
    this.current = stage;
    this.startedAt = performance.now();
    this.report(0);
  }

  report(fraction: number, message?: string): void {
    if (this.current === null) return;
    let before = 0;
    let weight = 0;
    for (const [name, w] of this.plan) {
      if (name === this.current) {
        weight = w;
        break;
      }
      before += w;
    }
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const timings = { ...this.timings, [this.current]: this.elapsed() };
    this.emit({ stage: this.current, progress: before + weight * f, timings, message });
  }

  /** A ProgressCallback for src/ml functions running inside the current stage. */
  callback(): ProgressCallback {
    return (e) => this.report(e.fraction, e.message);
  }

  /** Closes the current stage and returns seconds per stage. */
  finish(): JobTimings {
    this.close();
    return { ...this.timings };
  }

  private close(): void {
    if (this.current !== null) this.timings[this.current] = this.elapsed();
    this.current = null;
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1e6;
  }
}
