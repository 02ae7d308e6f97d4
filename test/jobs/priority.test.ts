import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JobPriority } from '../../src/jobs/priority.ts';
import { spawnTsWorker } from '../../src/jobs/spawn.ts';
import { threadSchedule } from './fixtures/priority-probe.ts';

type Schedule = { policy: number; nice: number };

/** Runs the probe in a real worker thread: its schedule after applyThreadPriority, then after raiseForCommit. */
function probe(priority: JobPriority): Promise<{ applied: Schedule; raised: Schedule }> {
  return new Promise((resolve, reject) => {
    const w = spawnTsWorker(new URL('./fixtures/priority-probe.ts', import.meta.url), priority);
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

const linux = process.platform === 'linux' && existsSync('/proc/thread-self/stat');
const hasChrt = ['/usr/bin/chrt', '/bin/chrt', '/usr/local/bin/chrt'].some((p) => existsSync(p));
const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
const root = process.getuid?.() === 0;

describe.skipIf(!linux)('job thread priority (Linux)', () => {
  it('idle: SCHED_IDLE (niceness 19 without chrt) for the job thread only, normal again for the commit', async () => {
    const before = threadSchedule();
    const { applied, raised } = await probe('idle');
    if (hasChrt) expect(applied.policy).toBe(SCHED_IDLE);
    expect(applied.nice).toBe(19);
    expect(raised.policy).toBe(SCHED_OTHER);
    if (root) expect(raised.nice).toBe(0);
    expect(threadSchedule()).toEqual(before); // the calling thread is untouched
  });

  it('low is niceness 10 under the normal policy; normal changes nothing', async () => {
    const before = threadSchedule();
    const low = await probe('low');
    expect(low.applied).toEqual({ policy: SCHED_OTHER, nice: Math.max(10, before.nice) });
    const normal = await probe('normal');
    expect(normal.applied).toEqual(before);
  });
});
