import { existsSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { type JobPriority, priorityPrelude } from '../../src/jobs/spawn.ts';

/** Runs the prelude in a real worker thread and reads that thread's scheduling policy and niceness. */
function threadSchedule(priority: JobPriority): Promise<{ policy: number; nice: number }> {
  const probe = `${priorityPrelude(priority)}
    const f = require('node:fs').readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    require('node:worker_threads').parentPort.postMessage({ nice: Number(f[16]), policy: Number(f[38]) });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(probe, { eval: true });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

const linux = process.platform === 'linux' && existsSync('/proc/thread-self/stat');
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;

describe.skipIf(!linux)('job thread priority (Linux)', () => {
  it('idle puts only the job thread in SCHED_IDLE (niceness 19 without chrt), normal leaves it alone', async () => {
    const idle = await threadSchedule('idle');
    const hasChrt = ['/usr/bin/chrt', '/bin/chrt'].some((p) => existsSync(p));
    if (hasChrt) expect(idle.policy).toBe(SCHED_IDLE);
    else expect(idle.nice).toBe(19);
    const normal = await threadSchedule('normal');
    expect(normal).toEqual({ policy: SCHED_OTHER, nice: 0 });
    const low = await threadSchedule('low');
    expect(low).toEqual({ policy: SCHED_OTHER, nice: 10 });
    // The test's own thread is untouched.
    const own = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
    expect(Number(own[38])).toBe(SCHED_OTHER);
  });
});
