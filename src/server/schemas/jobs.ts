import { type Static, Type } from 'typebox';
import { MAX_LATENTS } from '../../ml/sae/options.ts';
import { MAX_ID, MAX_SEED, NullableTimestamp, Offset, Timestamp } from './common.ts';

/** A headline metric of a job's result: null where it could not be measured (rows stored before it was omitted). */
const measured = (description: string) =>
  Type.Optional(
    Type.Union([Type.Number(), Type.Null()], { description: `${description}; null: not measured` }),
  );

export const JobType = Type.Enum(['train-recommender', 'train-sae', 'evaluate', 'label', 'pipeline']);
export const JobStatus = Type.Enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);

export const JobParams = Type.Object(
  {
    data: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Data spec to train on (required by pipeline and train-recommender jobs), e.g. synthetic (the built-in demo dataset) or movielens-1m:/data/ml-1m',
      }),
    ),
    model: Type.Optional(Type.Union([Type.Literal('mf'), Type.Literal('ncf')])),
    dim: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024 })),
    epochs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_SEED,
        description:
          "Seed of the data split, the recommender and the SAE; for train-sae the SAE's only (the base version's split is kept)",
      }),
    ),
    setting: Type.Optional(
      Type.Union([Type.Literal('concepts'), Type.Literal('fidelity')], {
        description:
          'Chosen SAE setting: concepts (encoder codes, the default) or fidelity (pursuit codes: faithful ' +
          'reconstructions, weaker popularity/era neurons and steering); `sae` overrides single options',
      }),
    ),
    sae: Type.Optional(
      Type.Object(
        {
          latents: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LATENTS })),
          activation: Type.Optional(Type.Union([Type.Literal('relu'), Type.Literal('topk')])),
          k: Type.Optional(Type.Integer({ minimum: 1 })),
          epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          matryoshka: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 16 })),
          l1: Type.Optional(Type.Number({ minimum: 0 })),
          lr: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
          shared: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    baseModelId: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_ID })),
    activate: Type.Optional(
      Type.Boolean({
        description:
          'Serve the new version once the job succeeds (unless a job enqueued after this one has activated its version already, or a version was activated through the API after this job was enqueued). Default true for pipeline jobs, false for train-sae and label jobs',
      }),
    ),
  },
  { additionalProperties: false },
);

export const EnqueueBody = Type.Object(
  {
    type: JobType,
    params: Type.Optional(JobParams),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  },
  { additionalProperties: false },
);
export type EnqueueBodyT = Static<typeof EnqueueBody>;

export const JobSchema = Type.Object({
  id: Type.Integer(),
  url: Type.String({ description: 'Where to poll this job' }),
  type: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  status: JobStatus,
  stage: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  timings: Type.Record(Type.String(), Type.Number(), { description: 'Seconds per stage' }),
  result: Type.Union([
    Type.Object(
      {
        modelId: Type.Optional(Type.Integer({ description: 'The model version the job created' })),
        baseModelId: Type.Optional(Type.Integer({ description: 'The version it started from' })),
        activated: Type.Optional(Type.Boolean()),
        hr10: measured("HR@10 of the recommender (the version's metrics.ranking.hr)"),
        ndcg10: measured("NDCG@10 (the version's metrics.ranking.ndcg)"),
        fidelityRbo: measured('RBO@30 of the reconstructed embeddings (metrics.fidelity.rbo)'),
        latents: Type.Optional(Type.Integer({ description: "The SAE's latents" })),
        labelledNeurons: Type.Optional(Type.Integer({ description: 'Neurons given a label' })),
        memory: Type.Optional(
          Type.Object(
            { estimateMiB: Type.Number(), budgetMiB: Type.Number() },
            { description: 'The memory check it passed: estimated peak and what was allowed (MiB)' },
          ),
        ),
      },
      {
        additionalProperties: true,
        description:
          "A summary (the version's full metrics are in GET /v1/models/{modelId}); fields by job type",
      },
    ),
    Type.Null(),
  ]),
  error: Type.Union([Type.String(), Type.Null()]),
  requeues: Type.Array(Type.String(), {
    description:
      'Why each earlier attempt ended without finishing (its server stopped or died, and the job was requeued), oldest first (the latest 20)',
  }),
  cancelRequested: Type.Boolean(),
  createdAt: Timestamp,
  startedAt: NullableTimestamp,
  finishedAt: NullableTimestamp,
});

export const JobParamsPath = Type.Object({ jobId: Type.Integer({ minimum: 1, maximum: MAX_ID }) });

export const JobListQuery = Type.Object(
  {
    status: Type.Optional(Type.Array(JobStatus, { maxItems: 5, description: 'Repeat or comma-separate' })),
    type: Type.Optional(JobType),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);

export const JobList = Type.Object({ total: Type.Integer(), jobs: Type.Array(JobSchema) });
