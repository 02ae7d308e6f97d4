import { Type } from 'typebox';
import { MAX_ID, Metrics, NullableTimestamp, Offset, Timestamp } from './common.ts';

export const ModelVersionSchema = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('full'), Type.Literal('recommender')]),
  active: Type.Boolean(),
  serving: Type.Boolean({ description: 'Whether this instance is serving it now' }),
  createdAt: Timestamp,
  activatedAt: NullableTimestamp,
  datasetSpec: Type.String(),
  datasetName: Type.String(),
  recommenderKind: Type.Union([Type.Literal('mf'), Type.Literal('ncf')]),
  dim: Type.Integer(),
  latents: Type.Union([Type.Integer(), Type.Null()]),
  nUsers: Type.Integer(),
  nItems: Type.Integer(),
  metrics: Metrics,
  jobId: Type.Union([Type.Integer(), Type.Null()]),
  parentId: Type.Union([Type.Integer(), Type.Null()]),
});

export const ModelListQuery = Type.Object(
  {
    kind: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('recommender')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);

export const ModelList = Type.Object({
  activeId: Type.Union([Type.Integer(), Type.Null()]),
  servingId: Type.Union([Type.Integer(), Type.Null()]),
  total: Type.Integer({ description: 'Versions matching the filter (all pages)' }),
  models: Type.Array(ModelVersionSchema),
});

export const ModelParams = Type.Object({ modelId: Type.Integer({ minimum: 1, maximum: MAX_ID }) });
