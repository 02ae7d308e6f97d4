import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './fixture.ts';

let ctx: Awaited<ReturnType<typeof testApp>>;
beforeAll(async () => {
  // No runner: enqueued jobs stay queued.
  ctx = await testApp({ config: { maxQueuedJobs: 2 }, jobs: false });
});
afterAll(() => ctx.close());

const enqueue = () =>
  ctx.app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { type: 'pipeline', params: { data: 'synthetic:users=50,items=30', activate: false } },
  });

describe('PRISM_MAX_QUEUED_JOBS', () => {
  it('refuses an enqueue beyond the queue limit with 429 QUEUE_FULL, and takes one again once a job leaves', async () => {
    const first = await enqueue();
    expect(first.statusCode).toBe(202);
    expect((await enqueue()).statusCode).toBe(202);
    const full = await enqueue();
    expect(full.statusCode).toBe(429);
    expect(full.json()).toMatchObject({ code: 'QUEUE_FULL' });
    expect(full.json().message).toContain('PRISM_MAX_QUEUED_JOBS');
    expect(ctx.store.jobs.count({ status: ['queued'] })).toBe(2);
    // A bad request is refused for what is wrong with it, full queue or not.
    const bad = await ctx.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'pipeline', params: { data: 'synthetic:users=-5', activate: false } },
    });
    expect([bad.statusCode, bad.json().field]).toEqual([400, 'body.params.data']);

    const cancel = await ctx.app.inject({ method: 'POST', url: `/v1/jobs/${first.json().id}/cancel` });
    expect(cancel.statusCode).toBeLessThan(300);
    expect((await enqueue()).statusCode).toBe(202);
  });

  it('counts the queue in the transaction that inserts, so processes sharing the database pass one at a time', () => {
    let inTransaction: boolean | null = null;
    const job = ctx.app.runner.enqueue(
      'pipeline',
      { data: 'synthetic:users=50,items=30', activate: false },
      { admit: () => (inTransaction = ctx.store.db.inTransaction) },
    );
    expect(inTransaction).toBe(true);
    ctx.store.jobs.finish(job.id, { status: 'cancelled', error: 'test' });
  });
});
