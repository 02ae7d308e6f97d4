import { describe, expect, it } from 'vitest';
import { testApp } from './fixture.ts';

describe('POST /v1/jobs under a job memory budget', () => {
  it('answers 422 naming the parameter for a job the server cannot afford, and enqueues nothing', async () => {
    const { app, close } = await testApp({ config: { jobMemoryMb: 64 } });
    try {
      const listed = async () => (await app.inject({ url: '/v1/jobs' })).json().jobs.length;
      const before = await listed();
      const job = (sae: object) => ({
        method: 'POST' as const,
        url: '/v1/jobs',
        payload: { type: 'pipeline', params: { data: 'synthetic', sae } },
      });
      const res = await app.inject(job({ latents: 65_536 }));
      expect(res.statusCode).toBe(422);
      expect(res.json()).toMatchObject({
        code: 'OVER_MEMORY_BUDGET',
        error: 'Unprocessable Entity',
        field: 'body.params.sae.latents',
      });
      expect(res.json().message).toMatch(
        /^body\.params\.sae\.latents: the job would need about [\d,]+ MiB \(largest part: codes of 65536 latents × 2,100 users and items\), more than the 64 MiB it may use \(PRISM_JOB_MEMORY_MB\)/,
      );
      expect(await listed()).toBe(before);
      expect((await app.inject(job({ latents: 64, k: 4 }))).statusCode).toBe(202);
    } finally {
      await close();
    }
  });
});
