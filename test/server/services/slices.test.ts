import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runInSlices } from '../../../src/server/services/slices.ts';

function* steps(log: string[], n: number): Generator<void> {
  for (let i = 0; i < n; i++) {
    log.push(`step ${i}`);
    yield;
  }
}

describe('runInSlices', () => {
  it('runs every step and lets other work run between slices', async () => {
    const log: string[] = [];
    let stop = false;
    const other = (async () => {
      while (!stop) {
        log.push('other');
        await nextTurn();
      }
    })();
    await runInSlices(steps(log, 5), undefined, 0);
    stop = true;
    await other;
    expect(log.filter((e) => e.startsWith('step'))).toEqual([0, 1, 2, 3, 4].map((i) => `step ${i}`));
    // With zero-length slices every step is its own slice: other work ran between each pair of steps.
    const between = log.slice(log.indexOf('step 0'), log.indexOf('step 4'));
    expect(between.filter((e) => e === 'other').length).toBeGreaterThanOrEqual(4);
  });

  it('runs many steps per slice when slices are long', async () => {
    const log: string[] = [];
    let turns = 0;
    const other = (async () => {
      while (log.length < 1000) {
        turns++;
        await nextTurn();
      }
    })();
    await runInSlices(steps(log, 1000), undefined, 1e6);
    await other;
    expect(turns).toBeLessThanOrEqual(2);
  });

  it("stops with the signal's reason once aborted", async () => {
    const log: string[] = [];
    const ctl = new AbortController();
    const run = runInSlices(steps(log, 1e9), ctl.signal, 0);
    await nextTurn();
    ctl.abort(new Error('closing'));
    await expect(run).rejects.toThrow('closing');
    expect(log.length).toBeLessThan(100);
  });
});
