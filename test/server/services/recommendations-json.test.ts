import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../../src/ml/explain/types.ts';
import type { RecommendationResult, RecommendedItem } from '../../../src/ml/steer/recommend.ts';
import {
  type AppliedPolicyT,
  RecommendationsResponse,
  type RecommendationsResponseT,
} from '../../../src/server/schemas/recommendations.ts';
import { encodeRecommendations } from '../../../src/server/services/recommendations-json.ts';

/** What the route's schema serialiser writes for a response object (Fastify's own, as routes use it). */
let schemaSerialiser: FastifyInstance;
let current: unknown;
const viaSchema = async (r: unknown): Promise<Buffer> => {
  current = r;
  return (await schemaSerialiser.inject({ method: 'GET', url: '/' })).rawPayload;
};

beforeAll(async () => {
  schemaSerialiser = Fastify();
  schemaSerialiser.get('/', { schema: { response: { 200: RecommendationsResponse } } }, async () => current);
  await schemaSerialiser.ready();
});
afterAll(() => schemaSerialiser.close());

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[] };

/**
 * The response the route describes, from `recommend`'s result: the mapping the encoder fuses into its
 * writes, spelled out (numbers rounded to 6 decimals, ranks from 1, only applied policies passed in).
 */
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
function toResponse(
  r: RecommendationResult,
  modelId: number,
  policies: AppliedPolicyT[],
): RecommendationsResponseT {
  const item = (it: RecommendedItem, rank: number) => ({
    itemId: it.item,
    title: it.title,
    score: round6(it.score),
    rank: rank + 1,
    ...(it.explanation && {
      explanation: {
        method: it.explanation.method,
        neurons: it.explanation.top.map((c) => ({
          neuron: c.neuron,
          label: c.label,
          side: c.side,
          activation: round6(c.activation),
          contribution: round6(c.value),
        })),
        other: round6(it.explanation.other),
        base: round6(it.explanation.base),
        residual: round6(it.explanation.residual),
        completeness: round6(it.explanation.completeness),
      },
    }),
  });
  return {
    userId: r.user,
    modelId,
    k: r.k,
    policies,
    items: r.items.map(item),
    ...(r.unsteered && {
      unsteered: r.unsteered.items.map(item),
      comparison: { rbo: round6(r.unsteered.rbo), kendallTau: round6(r.unsteered.kendallTau) },
    }),
  };
}

/** Every property name the schema declares, nested ones included. */
function declaredKeys(s: Schema): string[] {
  const own = Object.entries(s.properties ?? {}).flatMap(([k, v]) => [k, ...declaredKeys(v)]);
  return s.items ? [...own, ...declaredKeys(s.items)] : own;
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('Lion King, The (1994)', 'Amélie (2001)', 'a"b\\c', "Children's", ''),
);
const num = fc.oneof(
  fc.double({ noNaN: true, min: -50, max: 50 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, 1, 1e-6, 4.9999e-7, 0.958),
);
const int = fc.oneof(fc.nat(), fc.integer(), fc.maxSafeInteger());
// Few neurons, labels and activations besides any, so that a neuron recurs within a response (written
// once, then copied) with the same or another activation or label.
const contribution = fc.record({
  neuron: fc.oneof(
    fc.nat({ max: 3 }),
    fc.nat({ max: 4096 }),
    fc.maxSafeInteger(),
    fc.double({ min: -5, max: 5000, noNaN: true }),
  ),
  label: fc.oneof(fc.constantFrom('Horror', 'Comedy'), text),
  side: fc.constantFrom('user' as const, 'item' as const),
  activation: fc.oneof(fc.constantFrom(0.25, 0, -0), num),
  value: num,
});
const explanation: fc.Arbitrary<Explanation> = fc.record({
  method: fc.constantFrom('mf-exact' as const, 'ncf-integrated-gradients' as const),
  score: num,
  top: fc.array(contribution, { maxLength: 6 }),
  other: num,
  base: num,
  residual: num,
  completeness: num,
});
const item: fc.Arbitrary<RecommendedItem> = fc.record(
  { index: fc.nat(), item: text, title: text, score: num, explanation },
  { requiredKeys: ['index', 'item', 'title', 'score'] },
);
const result: fc.Arbitrary<RecommendationResult> = fc.record(
  {
    userIndex: fc.nat(),
    user: text,
    k: fc.integer({ min: 1, max: 200 }),
    items: fc.array(item, { maxLength: 12 }),
    policies: fc.constant([]),
    steered: fc.boolean(),
    unsteered: fc.record({ items: fc.array(item, { maxLength: 12 }), rbo: num, kendallTau: num }),
  },
  { requiredKeys: ['userIndex', 'user', 'k', 'items', 'policies', 'steered'] },
);
const applied = fc.array(fc.record({ id: int, name: text, version: int }), { maxLength: 3 });

const contributionOf = (neuron: number, label: string, side: 'user' | 'item') => ({
  neuron,
  label,
  side,
  activation: 0.25,
  value: -0.125,
});
/** A result reaching every optional part of the response: explanations, the unsteered list. */
const full: RecommendationResult = {
  userIndex: 3,
  user: 'user "7"',
  k: 2,
  steered: true,
  policies: [],
  items: [
    {
      index: 0,
      item: 'item "1"',
      title: 'Amélie (2001)',
      score: 0.1234567,
      explanation: {
        method: 'mf-exact',
        score: 0.1234567,
        top: [contributionOf(12, 'Horror', 'user'), contributionOf(3, '', 'item')],
        other: 0.5,
        base: -1.25,
        residual: 1e-9,
        completeness: 0.999,
      },
    },
    { index: 1, item: '2', title: '', score: -3 },
  ],
  unsteered: { items: [{ index: 1, item: '2', title: '', score: -3 }], rbo: 0.958, kendallTau: -1 / 3 },
};
const fullPolicies = [{ id: 1, name: 'no "horror"', version: 2 }];

describe('encodeRecommendations', () => {
  it('writes every property the 200 schema declares, byte for byte as the schema serialiser', async () => {
    const want = await viaSchema(toResponse(full, 42, fullPolicies));
    expect(encodeRecommendations(full, 42, fullPolicies).toString('latin1')).toBe(want.toString('latin1'));
    for (const key of declaredKeys(RecommendationsResponse as Schema))
      expect(want.toString(), `the sample reaches "${key}"`).toContain(`"${key}":`);
  });

  it('matches the schema serialiser on random results (unicode, escapes, any number)', async () => {
    await fc.assert(
      fc.asyncProperty(result, int, applied, async (r, modelId, policies) => {
        const got = encodeRecommendations(r, modelId, policies);
        // latin1: one character per byte, so the comparison is byte for byte and its diff readable.
        expect(got.toString('latin1')).toBe(
          (await viaSchema(toResponse(r, modelId, policies))).toString('latin1'),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('an item seen before under another title, or a neuron relabelled or on the other side, is written as it is now', async () => {
    const first = full.items[0];
    const e = first.explanation!;
    const variants: RecommendationResult[] = [
      full,
      { ...full, items: [{ ...first, title: 'Renamed "title" ü' }] },
      { ...full, items: [{ ...first, explanation: { ...e, top: [contributionOf(12, 'Comedy', 'user')] } }] },
      { ...full, items: [{ ...first, explanation: { ...e, top: [contributionOf(12, 'Horror', 'item')] } }] },
      full,
      // The same neuron again in one response: as it was, with another activation, with another label.
      {
        ...full,
        items: [0.25, 0.25, 0.5, 0.25].map((activation, r) => ({
          ...first,
          explanation: {
            ...e,
            top: [
              { ...contributionOf(12, r === 3 ? 'Comedy' : 'Horror', 'user'), activation },
              contributionOf(12, 'Horror', 'item'),
            ],
          },
        })),
      },
    ];
    for (const r of variants)
      expect(encodeRecommendations(r, 1, []).toString('latin1')).toBe(
        (await viaSchema(toResponse(r, 1, []))).toString('latin1'),
      );
  });

  it('refuses a neuron id that is no number, as the schema serialiser does', () => {
    const first = full.items[0];
    const e = first.explanation!;
    for (const neuron of [Number.NaN, Infinity]) {
      const bad = {
        ...full,
        items: [{ ...first, explanation: { ...e, top: [contributionOf(neuron, 'x', 'user')] } }],
      };
      expect(() => encodeRecommendations(bad, 1, [])).toThrow(/cannot be converted to an integer/);
    }
  });

  it('returns bytes that later calls leave alone (the writer behind it is reused)', () => {
    const first = encodeRecommendations(full, 1, fullPolicies);
    const copy = Buffer.from(first);
    for (let n = 0; n < 100; n++) encodeRecommendations({ ...full, user: `someone else ${n}` }, 2, []);
    expect(first.equals(copy)).toBe(true);
  });
});
