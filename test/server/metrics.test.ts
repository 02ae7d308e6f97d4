import { describe, expect, it } from 'vitest';
import { SMALL, testApp } from './fixture.ts';

describe('/metrics', () => {
  it('labels every series with the process and leaves the queue to the process that runs the jobs', async () => {
    const { app, close } = await testApp({ metricsLabels: { process: '1' }, reportsQueue: false });
    try {
      await app.inject({ url: '/health/live' });
      const body = (await app.inject({ url: '/metrics' })).body;
      expect(body).toContain(
        'http_request_duration_seconds_count{process="1",method="GET",route="/health/live",status_code="200"} 1',
      );
      expect(body).not.toContain('prism_jobs{');
    } finally {
      await close();
    }
  });

  it('starts the cache series at 0, and counts a job cancelled while queued without a duration', async () => {
    const { app, close } = await testApp();
    try {
      const before = (await app.inject({ url: '/metrics' })).body;
      expect(before).toContain('prism_recommendation_cache_total{result="hit"} 0');
      expect(before).toContain('prism_recommendation_cache_total{result="miss"} 0');
      // This app runs no jobs, so the job stays queued until it is cancelled.
      const job = (
        await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: SMALL } })
      ).json();
      expect((await app.inject({ method: 'POST', url: `/v1/jobs/${job.id}/cancel` })).statusCode).toBe(202);
      const after = (await app.inject({ url: '/metrics' })).body;
      expect(after).toContain('prism_jobs_finished_total{type="pipeline",status="cancelled"} 1');
      expect(after).not.toContain('prism_job_duration_seconds_count{type="pipeline",status="cancelled"}');
    } finally {
      await close();
    }
  });
});

describe('request latency buckets', () => {
  it('resolve the sub-millisecond hot path: a fast request lands below the 0.5 ms bucket', async () => {
    const { app, close } = await testApp();
    try {
      for (let i = 0; i < 20; i++) await app.inject({ url: '/health/live' });
      const body = (await app.inject({ url: '/metrics' })).body;
      const bucket = (le: string) =>
        Number(
          new RegExp(
            `http_request_duration_seconds_bucket\\{le="${le}",method="GET",route="/health/live",status_code="200"\\} (\\d+)`,
          ).exec(body)?.[1],
        );
      // Some of 20 in-process requests take under 0.25 ms; the buckets must be able to say so.
      expect(bucket('0.00025')).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });
});
