import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Job } from '../../../store/types.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../schemas/common.ts';
import { EnqueueBody, JobList, JobListQuery, JobParamsPath, JobSchema } from '../../schemas/jobs.ts';
import { requireUnderDataRoot } from '../../services/data-root.ts';
import { round6 } from '../../services/round.ts';
import { refuseBody } from '../no-body.ts';

const security = [{ bearer: [] }];

const unknownJob = (id: number) => new ApiError(404, 'UNKNOWN_JOB', `unknown job ${id}`, 'params.jobId');

/** The job row as the API shows it (owner fields stay internal). */
export function jobView(job: Job) {
  const { ownerPid: _pid, ownerInstance: _inst, heartbeatAt: _hb, ...rest } = job;
  return {
    ...rest,
    progress: round6(job.progress), // 0.39999999999999997 is 0.4
    params: { ...job.params } as Record<string, unknown>,
    url: `/v1/jobs/${job.id}`,
  };
}

export interface JobRoutesOptions {
  /** PRISM_DATA_ROOT: where the data a job names must lie (null = no files, synthetic data only). */
  dataRoot: string | null;
  /** PRISM_MAX_QUEUED_JOBS: jobs that may wait at once. */
  maxQueuedJobs: number;
}

const jobs: FastifyPluginAsyncTypebox<JobRoutesOptions> = async (app, opts) => {
  const requireJob = (id: number): Job => {
    const job = app.runner.get(id);
    if (!job) throw unknownJob(id);
    return job;
  };

  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'enqueueJob',
        tags: ['jobs'],
        summary: 'Enqueue a job (train recommender, train SAE, evaluate, label, or the whole pipeline)',
        description: 'Answers 202 with the job and its URL in `Location`; poll it for status and progress.',
        security,
        body: EnqueueBody,
        response: { 202: JobSchema, ...errors(400, 401, 403, 413, 422, 429) },
      },
    },
    async (req, reply) => {
      const { type, params, maxAttempts } = req.body;
      requireUnderDataRoot(params?.data, opts.dataRoot, 'body.params.data');
      const admit = () => {
        const queued = app.store.jobs.count({ status: ['queued'] });
        if (queued >= opts.maxQueuedJobs)
          throw new ApiError(
            429,
            'QUEUE_FULL',
            `the job queue is full (${queued} jobs waiting, PRISM_MAX_QUEUED_JOBS): enqueue again once some have run, or cancel some`,
          );
      };
      const job = app.runner.enqueue(type, params ?? {}, { maxAttempts, admit });
      const view = jobView(job);
      return reply.code(202).header('location', view.url).send(view);
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        operationId: 'listJobs',
        tags: ['jobs'],
        summary: 'List jobs, newest first, filtered by status and type',
        querystring: JobListQuery,
        response: { 200: JobList, ...errors(400, 401, 403, 429) },
      },
      // `status=a,b` as well as `status=a&status=b`.
      preValidation: async (req) => {
        const q = req.query as { status?: string | string[] };
        if (q.status !== undefined) q.status = ([] as string[]).concat(q.status).flatMap((s) => s.split(','));
      },
    },
    async (req) => {
      const { status, type, limit, offset } = req.query;
      const filter = { status: status && status.length > 0 ? status : undefined, type };
      return {
        total: app.store.jobs.count(filter),
        jobs: app.runner.list({ ...filter, limit, offset }).map(jobView),
      };
    },
  );

  app.get(
    '/v1/jobs/:jobId',
    {
      schema: {
        operationId: 'getJob',
        tags: ['jobs'],
        summary: 'One job: status, stage, progress 0–1, timings, result summary, error',
        params: JobParamsPath,
        response: { 200: JobSchema, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => jobView(requireJob(req.params.jobId)),
  );

  app.post(
    '/v1/jobs/:jobId/cancel',
    {
      schema: {
        operationId: 'cancelJob',
        tags: ['jobs'],
        summary: 'Cancel a job: a queued one at once, a running one at its next step',
        description: '409 when the job already finished.',
        security,
        params: JobParamsPath,
        response: { 202: JobSchema, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      refuseBody(req.body);
      const before = requireJob(req.params.jobId);
      if (before.status === 'succeeded' || before.status === 'failed' || before.status === 'cancelled')
        throw new ApiError(409, 'JOB_FINISHED', `job ${before.id} already ${before.status}`, 'params.jobId');
      const job = app.runner.cancel(before.id) ?? before;
      return reply.code(202).send(jobView(job));
    },
  );

  app.delete(
    '/v1/jobs/:jobId',
    {
      schema: {
        operationId: 'deleteJob',
        tags: ['jobs'],
        summary: 'Delete a finished job (succeeded, failed or cancelled)',
        description:
          '409 `JOB_NOT_FINISHED` for a queued or running job: cancel it first. The model versions a job ' +
          'produced stay (their `jobId` becomes null).',
        security,
        params: JobParamsPath,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      refuseBody(req.body);
      const id = req.params.jobId;
      const outcome = app.store.jobs.delete(id);
      if (outcome === 'unknown') throw unknownJob(id);
      if (outcome !== 'deleted')
        throw new ApiError(
          409,
          'JOB_NOT_FINISHED',
          `job ${id} is ${outcome}; cancel it (POST /v1/jobs/${id}/cancel) and wait until it is cancelled ` +
            'before deleting it',
          'params.jobId',
        );
      return reply.code(204).send(null);
    },
  );
};

export default jobs;
