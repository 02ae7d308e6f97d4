import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { StoreError } from '../../../store/errors.ts';
import type { ModelVersion } from '../../../store/types.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../schemas/common.ts';
import { ModelList, ModelListQuery, ModelParams, ModelVersionSchema } from '../../schemas/models.ts';
import { refuseBody } from '../no-body.ts';

const security = [{ bearer: [] }];

const unknownModel = (id: number, message = `unknown model version ${id}`) =>
  new ApiError(404, 'UNKNOWN_MODEL', message, 'params.modelId');

const models: FastifyPluginAsyncTypebox = async (app) => {
  /** Whether an artifact's stored bytes still hash to its sha (read again: only on the error path). */
  const verifies = (sha: string): boolean => {
    try {
      app.store.artifacts.get(sha);
      return true;
    } catch (err) {
      if (err instanceof StoreError && err.code === 'CORRUPT_ARTIFACT') return false;
      throw err;
    }
  };

  const view = (v: ModelVersion) => {
    const { artifacts: _a, sourceJobId: _s, ...rest } = v;
    return { ...rest, serving: app.models.current?.version.id === v.id };
  };

  app.get(
    '/v1/models',
    {
      schema: {
        operationId: 'listModels',
        tags: ['models'],
        summary: 'Model versions (recommender and SAE) with their metrics, newest first',
        querystring: ModelListQuery,
        response: { 200: ModelList, ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const { kind, limit, offset } = req.query;
      return {
        activeId: app.store.models.active()?.id ?? null,
        servingId: app.models.current?.version.id ?? null,
        total: app.store.models.count({ kind }),
        models: app.store.models.list({ kind, limit, offset }).map(view),
      };
    },
  );

  app.get(
    '/v1/models/:modelId',
    {
      schema: {
        operationId: 'getModel',
        tags: ['models'],
        summary: 'One model version',
        params: ModelParams,
        response: { 200: ModelVersionSchema, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => {
      const v = app.store.models.get(req.params.modelId);
      if (!v) throw unknownModel(req.params.modelId);
      return view(v);
    },
  );

  app.post(
    '/v1/models/:modelId/activate',
    {
      schema: {
        operationId: 'activateModel',
        tags: ['models'],
        summary:
          'Serve this version: decoded first, then switched atomically (no restart, no failed requests)',
        description:
          '409 `NOT_ACTIVATABLE` for a recommender-only version, `CORRUPT_ARTIFACT` when one of its stored ' +
          'artifacts fails its checksum, `SUPERSEDED` when a later activation overtook this one; the ' +
          'version served before keeps serving in every case. Jobs enqueued before this activation no longer ' +
          'activate their versions when they finish (a rollback stands); activating the version already active ' +
          'changes nothing.',
        security,
        params: ModelParams,
        response: { 200: ModelVersionSchema, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req) => {
      refuseBody(req.body);
      const id = req.params.modelId;
      const v = app.store.models.get(id);
      if (!v) throw unknownModel(id);
      if (v.kind !== 'full')
        throw new ApiError(
          409,
          'NOT_ACTIVATABLE',
          `model version ${id} is recommender-only (no SAE); it cannot be served`,
          'params.modelId',
        );
      try {
        return view((await app.models.activate(id)).version);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'NOT_FOUND')
          throw unknownModel(id, `model version ${id} was deleted while it was being activated`);
        if (err instanceof StoreError && err.code === 'CORRUPT_ARTIFACT') {
          // Damaged bytes in the database are a fact about this version, not a server fault: name it.
          const part = (Object.entries(v.artifacts) as [string, string | null][]).find(
            ([, sha]) => sha !== null && !verifies(sha),
          )?.[0];
          throw new ApiError(
            409,
            'CORRUPT_ARTIFACT',
            `model version ${id}'s ${part ?? 'stored'} artifact fails its checksum (its bytes in the ` +
              'database are damaged); it cannot be served',
            'params.modelId',
          );
        }
        throw err;
      }
    },
  );

  app.delete(
    '/v1/models/:modelId',
    {
      schema: {
        operationId: 'deleteModel',
        tags: ['models'],
        summary: 'Delete a model version and the stored artifacts no other version shares',
        description:
          '409 `MODEL_IN_USE` for the active version, the version this server serves or is switching to, ' +
          'or one a queued or running job is based on (`baseModelId`). Versions derived from it keep their ' +
          'own artifacts (their `parentId` becomes null); policies saved against it move to a remaining ' +
          'version with the same SAE (a relabelled one), if any. With several server processes, another ' +
          'one may serve it until it has switched to the active version (within its poll interval and ' +
          'warm-up). The database file does not shrink (SQLite reuses the freed pages for later writes).',
        security,
        params: ModelParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
      refuseBody(req.body);
      const id = req.params.modelId;
      if (app.models.holds(id))
        throw new ApiError(
          409,
          'MODEL_IN_USE',
          `model version ${id} is the one this server serves or is switching to; activate another one ` +
            'before deleting it',
          'params.modelId',
        );
      try {
        const { artifactsDeleted, bytesFreed } = app.store.models.delete(id);
        // Policies bound to it may have moved to a version with the same SAE (the store bumped the policies'
        // revision): this process's snapshot is rebuilt now, the others' within their revision poll.
        app.policyService.invalidate();
        req.log.info({ modelId: id, artifactsDeleted, bytesFreed }, 'model version deleted');
      } catch (err) {
        if (err instanceof StoreError && err.code === 'NOT_FOUND') throw unknownModel(id);
        if (err instanceof StoreError && err.code === 'CONFLICT')
          throw new ApiError(409, 'MODEL_IN_USE', err.message, 'params.modelId');
        throw err;
      }
      return reply.code(204).send(null);
    },
  );
};

export default models;
