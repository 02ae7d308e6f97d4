import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Policy } from '../../../ml/steer/policy.ts';
import type { PolicyRecord } from '../../../store/types.ts';
import { ApiError } from '../../errors.ts';
import { errors, WRITE_ERRORS } from '../../schemas/common.ts';
import {
  CreatePolicyBody,
  PolicyList,
  PolicyListQuery,
  PolicyParams,
  PolicyRecordSchema,
  PreviewBody,
  PreviewResponse,
  UpdatePolicyBody,
} from '../../schemas/policies.ts';
import { idIndices } from '../../services/lookup.ts';
import { appliedPolicy, type LivePolicy } from '../../services/policies.ts';
import { previewPolicies } from '../../services/preview.ts';
import { refuseBody } from '../no-body.ts';

/** Users one preview may run on (each is a full recommend()). */
const MAX_PREVIEW_USERS = 200;

const security = [{ bearer: [] }];

const policies: FastifyPluginAsyncTypebox = async (app) => {
  const svc = app.policyService;

  /** The record as the API shows it, with whether it applies to the serving model. */
  const view = (record: PolicyRecord<Policy>) => {
    const active = app.models.current;
    const check = active ? svc.check(record, active) : { policy: null, problem: 'no model is active' };
    const { id: _id, version: _v, ...policy } = record.policy;
    return {
      ...record,
      policy,
      applicable: check.policy !== null,
      ...(check.problem ? { problem: check.problem } : {}),
    };
  };

  app.post(
    '/v1/policies',
    {
      schema: {
        operationId: 'createPolicy',
        tags: ['policies'],
        summary: 'Create a steering policy (validated against the active model; enabled ones apply at once)',
        security,
        body: CreatePolicyBody,
        // No 404: unknown ids inside a body are 400s naming the field.
        response: { 201: PolicyRecordSchema, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (req, reply) => {
      const { policy, modelId } = svc.validate(req.body.policy, 'body.policy');
      const record = app.store.policies.create<Policy>({
        name: req.body.name,
        policy,
        enabled: req.body.enabled,
        modelId,
      });
      svc.invalidate();
      reply.code(201).header('location', `/v1/policies/${record.id}`);
      return view(record);
    },
  );

  app.get(
    '/v1/policies',
    {
      schema: {
        operationId: 'listPolicies',
        tags: ['policies'],
        summary: 'List stored policies',
        querystring: PolicyListQuery,
        response: { 200: PolicyList, ...errors(400, 401, 403, 429) },
      },
    },
    async (req) => {
      const filter = req.query.enabled === undefined ? undefined : { enabled: req.query.enabled };
      return {
        revision: app.store.policies.revision(),
        policies: app.store.policies.list<Policy>(filter).map(view),
      };
    },
  );

  app.get(
    '/v1/policies/:policyId',
    {
      schema: {
        operationId: 'getPolicy',
        tags: ['policies'],
        summary: 'Get one policy by id or name',
        params: PolicyParams,
        response: { 200: PolicyRecordSchema, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req) => view(svc.require(req.params.policyId)),
  );

  app.patch(
    '/v1/policies/:policyId',
    {
      schema: {
        operationId: 'updatePolicy',
        tags: ['policies'],
        summary: 'Update a policy (partial; expectedVersion makes it a compare-and-set)',
        security,
        params: PolicyParams,
        body: UpdatePolicyBody,
        response: { 200: PolicyRecordSchema, ...errors(...WRITE_ERRORS, 503) },
      },
    },
    async (req) => {
      const current = svc.require(req.params.policyId);
      const { policy: raw, expectedVersion, ...rest } = req.body;
      const patch: { name?: string; enabled?: boolean; policy?: Policy; modelId?: number } = { ...rest };
      // Saving the body again binds its neuron indices to the active version.
      if (raw !== undefined)
        ({ policy: patch.policy, modelId: patch.modelId } = svc.validate(raw, 'body.policy'));
      const updated = app.store.policies.update<Policy>(current.id, patch, expectedVersion);
      if (!updated)
        throw new ApiError(
          404,
          'UNKNOWN_POLICY',
          `unknown policy "${req.params.policyId}"`,
          'params.policyId',
        );
      svc.invalidate();
      return view(updated);
    },
  );

  app.delete(
    '/v1/policies/:policyId',
    {
      schema: {
        operationId: 'deletePolicy',
        tags: ['policies'],
        summary: 'Delete a policy (stops applying at once)',
        security,
        params: PolicyParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (req, reply) => {
      refuseBody(req.body);
      const current = svc.require(req.params.policyId);
      app.store.policies.delete(current.id);
      svc.invalidate();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/policies/preview',
    {
      schema: {
        operationId: 'previewPolicies',
        tags: ['policies'],
        summary: 'Dry-run policies on given or sampled users: before/after lists and effect metrics',
        description: 'Nothing is stored. Give inline `policies` or stored `policyIds` (ids or names).',
        security,
        body: PreviewBody,
        response: { 200: PreviewResponse, ...errors(400, 401, 403, 429, 503) },
      },
    },
    async (req) => {
      const active = app.models.require();
      const { bundle, version } = active;
      const b = req.body;
      if (b.policies && b.policyIds)
        throw new ApiError(400, 'VALIDATION', 'give policies or policyIds, not both', 'body.policyIds');
      // Live traffic applies the enabled policies anyway: both lists include them, except a stored
      // policy being previewed, which only the after list gets.
      const enabled = svc.live(active).enabled;
      let chosen: Policy[];
      let base: LivePolicy[];
      if (b.policies) {
        chosen = b.policies.map((p, r) => svc.validate(p, `body.policies[${r}]`).policy);
        base = enabled;
      } else if (b.policyIds) {
        // A policy named twice (by id and by name) applies once, as the `policy` query parameter does.
        const stored = [...new Set(svc.resolve(active, b.policyIds.map(String), 'body.policyIds'))];
        chosen = stored.map((p) => p.policy);
        base = enabled.filter((p) => !stored.includes(p));
      } else throw new ApiError(400, 'VALIDATION', 'body must have policies or policyIds', 'body.policies');
      const given = idIndices(bundle.dataset.users.index, b.users, 'body.users', 'UNKNOWN_USER');
      // Entries may hold comma-separated ids, so the schema's maxItems alone does not bound the work.
      if (given.length > MAX_PREVIEW_USERS)
        throw new ApiError(400, 'VALIDATION', `at most ${MAX_PREVIEW_USERS} users per preview`, 'body.users');
      // A list of only blank ids is an error, not a request to sample; duplicates are previewed once.
      if (b.users !== undefined && given.length === 0)
        throw new ApiError(400, 'VALIDATION', 'body.users holds no user ids', 'body.users');
      const users = [...new Set(given)];
      return {
        modelId: version.id,
        basePolicies: base.map(appliedPolicy),
        ...previewPolicies(bundle, {
          policies: chosen,
          base: base.map((p) => p.policy),
          users,
          sample: b.sample ?? 20,
          seed: b.seed ?? 0,
          k: b.k ?? 10,
        }),
      };
    },
  );
};

export default policies;
