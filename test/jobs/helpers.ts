import type { JobFinishedEvent, JobRunner } from '../../src/jobs/index.ts';
import type { JobParams } from '../../src/store/types.ts';

/** A pipeline small enough to run in a couple of seconds. */
export const SMALL: JobParams = {
  data: 'synthetic:users=200,items=100,genres=4,seed=1',
  dim: 8,
  epochs: 3,
  seed: 1,
  sae: { latents: 16, k: 4, epochs: 5 },
};

/** A pipeline that runs long enough to be cancelled or interrupted mid-way. */
export const SLOW: JobParams = {
  data: 'synthetic:users=1500,items=600,seed=2',
  dim: 16,
  epochs: 40,
  sae: { latents: 128, k: 8, epochs: 400 },
};

export function finished(runner: JobRunner, jobId: number, timeoutMs = 30_000): Promise<JobFinishedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`job ${jobId} did not finish in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const on = (e: JobFinishedEvent) => {
      if (e.job.id !== jobId) return;
      clearTimeout(timer);
      runner.off('job:finished', on);
      resolve(e);
    };
    runner.on('job:finished', on);
  });
}

/** Resolves once the job is running (at once when it already is). */
export function started(runner: JobRunner, jobId: number, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      runner.off('job:started', on);
      resolve();
    };
    const on = (j: { id: number }) => {
      if (j.id === jobId) done();
    };
    const timer = setTimeout(() => {
      runner.off('job:started', on);
      reject(new Error(`job ${jobId} did not start in ${timeoutMs} ms`));
    }, timeoutMs);
    runner.on('job:started', on);
    if (runner.running().includes(jobId)) done();
  });
}

export function reachedStage(
  runner: JobRunner,
  jobId: number,
  stage: string,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job ${jobId} never reached ${stage}`)), timeoutMs);
    const on = (p: { id: number; stage: string }) => {
      if (p.id !== jobId || p.stage !== stage) return;
      clearTimeout(timer);
      runner.off('job:progress', on);
      resolve();
    };
    runner.on('job:progress', on);
  });
}

export const artifactCount = (db: { prepare(sql: string): { pluck(): { get(): unknown } } }): number =>
  db.prepare('SELECT count(*) FROM artifacts').pluck().get() as number;
