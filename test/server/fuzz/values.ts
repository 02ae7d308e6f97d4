// Valid-ish values for a place in a request: from a hint where the fixture knows what exists, else from
// the schema.

import fc from 'fast-check';
import { TEMPLATE } from '../fixture.ts';
import {
  cf,
  conceptArb,
  dataSpec,
  idLike,
  jobTemplate,
  MAX_ID,
  neuronArb,
  oddString,
  policyName,
  policyRef,
  policyTemplate,
  previewTemplate,
  unknownId,
} from './arbitraries.ts';
import type { Op, Schema } from './document.ts';
import { world } from './world.ts';

/** Values for the place `at` (params.userId, body.policy.concept): its hint's, else the schema's. */
export function valueArb(s: Schema, at: string, op: Op): fc.Arbitrary<unknown> {
  return hint(op, at, s) ?? schemaArb(s, at, op, true);
}

/** Values the schema accepts (hints below the top level with `deep`). */
function schemaArb(s: Schema, at: string, op: Op, deep: boolean): fc.Arbitrary<unknown> {
  const sub = (x: Schema, where: string) => (deep ? valueArb(x, where, op) : schemaArb(x, where, op, false));
  if (s.anyOf) return fc.oneof(...s.anyOf.map((b) => sub(b, at)));
  if (s.enum) return cf(s.enum);
  const type = [s.type].flat()[0];
  switch (type) {
    case 'object': {
      const props = s.properties ?? {};
      if (Object.keys(props).length === 0) return fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }));
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) model[k] = sub(v, `${at}.${k}`);
      const arb = fc.record(model, { requiredKeys: s.required ?? [] });
      const min = s.minProperties ?? 0;
      return min > 0 ? arb.filter((o) => Object.keys(o).length >= min) : arb;
    }
    case 'array':
      return fc.array(sub(s.items ?? {}, `${at}[]`), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, Math.max(s.minItems ?? 0, 3)),
      });
    case 'integer': {
      const lo = s.minimum ?? -1000;
      const hi = s.maximum ?? lo + 1000;
      return fc.oneof(
        fc.integer({ min: lo, max: Math.min(hi, lo + 20) }),
        fc.integer({ min: lo, max: Math.min(hi, MAX_ID) }),
        fc.constant(hi),
      );
    }
    case 'number': {
      const lo = s.minimum ?? s.exclusiveMinimum ?? -1e6;
      const hi = s.maximum ?? 1e6;
      return fc.double({ min: lo, max: hi, noNaN: true, minExcluded: s.exclusiveMinimum !== undefined });
    }
    case 'boolean':
      return fc.boolean();
    case 'string': {
      const min = s.minLength ?? 0;
      const max = s.maxLength ?? 200;
      const arb = fc.oneof(fc.string({ minLength: min, maxLength: Math.min(max, 20) }), oddString(min, max));
      if (!s.pattern) return arb;
      const re = new RegExp(s.pattern);
      return arb.filter((x) => re.test(x));
    }
  }
  return fc.jsonValue({ maxDepth: 2 });
}

/**
 * Values for named places in a request (`at`: params.userId, querystring.exclude[], body.policies[].concept),
 * where the schema alone would almost never name anything that exists. Undefined: the schema decides.
 */
function hint(op: Op, at: string, s: Schema): fc.Arbitrary<unknown> | undefined {
  const { method, path } = op;
  const fromSchema = () => schemaArb(s, at, op, false);
  const mostly = (a: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fromSchema() });
  switch (at) {
    case 'params.userId':
      return idLike(world.users);
    case 'params.itemId':
    case 'querystring.exclude[]':
      return idLike(world.items);
    case 'params.neuron':
      return neuronArb();
    case 'params.policyId':
      // Deletion only ever finds the policies made for it.
      return method === 'DELETE'
        ? fc.oneof(
            { weight: 3, arbitrary: cf(world.throwawayPolicies.map(String)) },
            { weight: 1, arbitrary: fc.oneof(unknownId.map(String), oddString(1, 100)) },
          )
        : policyRef();
    case 'querystring.policy[]':
      return policyRef();
    case 'params.jobId': {
      const known =
        method === 'DELETE'
          ? [...world.cancelledJobs, ...world.queuedJobs]
          : path.endsWith('/cancel')
            ? [...world.queuedJobs, ...world.templateJobs]
            : [...world.templateJobs, ...world.queuedJobs, ...world.cancelledJobs];
      return fc.oneof({ weight: 4, arbitrary: cf(known) }, { weight: 1, arbitrary: unknownId });
    }
    case 'params.modelId': {
      const known =
        method === 'DELETE'
          ? [...world.recommenderClones, ...world.fullClones, TEMPLATE.active]
          : path.endsWith('/activate')
            ? [TEMPLATE.active, TEMPLATE.other, TEMPLATE.recommenderOnly, ...world.fullClones]
            : [TEMPLATE.active, TEMPLATE.other, TEMPLATE.recommenderOnly];
      return fc.oneof({ weight: 4, arbitrary: cf(known) }, { weight: 1, arbitrary: unknownId });
    }
    case 'querystring.label':
      return fc.oneof(
        cf(world.concepts),
        cf(world.concepts).map((c) => c.slice(1, 3).toUpperCase()),
        oddString(),
      );
    case 'body.name':
      return policyName();
    case 'body.expectedVersion':
      return fc.integer({ min: 1, max: 4 });
    case 'body.policy':
    case 'body.policies[]':
      return mostly(policyTemplate());
    case 'body.policyIds[]':
      return fc.oneof(
        cf(world.policies.map((p) => p.id)),
        cf(world.policies.map((p) => String(p.id))),
        cf(world.policies.map((p) => p.name)),
        unknownId,
      );
    case 'body.users[]':
      return fc.oneof(
        { weight: 4, arbitrary: cf(world.users) },
        { weight: 1, arbitrary: fc.tuple(cf(world.users), cf(world.users)).map(([a, b]) => `${a},${b}`) },
        { weight: 1, arbitrary: oddString(0, 30) },
      );
    case 'body.params.data':
      return dataSpec();
    case 'body.params.baseModelId':
      return fc.oneof(cf([TEMPLATE.active, TEMPLATE.other, TEMPLATE.recommenderOnly]), unknownId);
    case 'body':
      if (op.spec.operationId === 'enqueueJob') return mostly(jobTemplate());
      if (op.spec.operationId === 'previewPolicies') return mostly(previewTemplate());
      return undefined;
  }
  if (/^body\.polic(y|ies\[\])(\.segment)?\.concept$/.test(at)) return conceptArb();
  if (/^body\.polic(y|ies\[\])(\.segment)?\.neuron$/.test(at)) return neuronArb();
  if (/^body\.polic(y|ies\[\])\.users\[\]$/.test(at)) return idLike(world.users);
  if (/^body\.polic(y|ies\[\])\.items\[\]$/.test(at)) return idLike(world.items);
  return undefined;
}
