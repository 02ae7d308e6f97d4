import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
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

/** A value with every property the schema declares, optional ones included (one element per array). */
function fullSample(s: Schema, path = ''): unknown {
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([k, v]) => [k, fullSample(v, `${path}.${k}`)]),
      );
    case 'array':
      return [fullSample(s.items as Schema, `${path}[]`), fullSample(s.items as Schema, `${path}[]`)];
    case 'string':
      return `${path} "quoted"`;
    case 'integer':
      return 42;
    case 'number':
      return 0.125;
    case 'boolean':
      return true;
    default:
      throw new Error(`fullSample: no sample for ${path} (${JSON.stringify(s)})`);
  }
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('Lion King, The (1994)', 'Amélie (2001)', 'a"b\\c', "Children's", ''),
);
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const num = fc.oneof(
  fc.double({ noNaN: true, min: -50, max: 50 }).map(round6),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -0, 1, 1e-6, 0.958),
);
const int = fc.oneof(fc.nat(), fc.integer(), fc.maxSafeInteger());
const contribution = fc.record({
  neuron: int,
  label: text,
  side: fc.constantFrom('user' as const, 'item' as const),
  activation: num,
  contribution: num,
});
const explanation = fc.record({
  method: fc.constantFrom('mf-exact', 'ncf-integrated-gradients'),
  neurons: fc.array(contribution, { maxLength: 6 }),
  other: num,
  base: num,
  residual: num,
  completeness: num,
});
const item = fc.record(
  { itemId: text, title: text, score: num, rank: fc.integer({ min: 1, max: 200 }), explanation },
  { requiredKeys: ['itemId', 'title', 'score', 'rank'] },
);
const response: fc.Arbitrary<RecommendationsResponseT> = fc.record(
  {
    userId: text,
    modelId: int,
    k: fc.integer({ min: 1, max: 200 }),
    policies: fc.array(fc.record({ id: int, name: text, version: int }), { maxLength: 3 }),
    items: fc.array(item, { maxLength: 12 }),
    unsteered: fc.array(item, { maxLength: 12 }),
    comparison: fc.record({ rbo: num, kendallTau: num }),
  },
  { requiredKeys: ['userId', 'modelId', 'k', 'policies', 'items'] },
);

describe('encodeRecommendations', () => {
  it('writes every property the 200 schema declares, byte for byte as the schema serialiser', async () => {
    const sample = fullSample(RecommendationsResponse as Schema) as RecommendationsResponseT;
    const want = await viaSchema(sample);
    expect(encodeRecommendations(sample).toString()).toBe(want.toString());
    // The sample really reaches the optional parts (explanations, the unsteered list, the comparison).
    expect(want.toString()).toContain('"unsteered":[{"itemId"');
    expect(want.toString()).toContain('"explanation":{"method"');
    expect(want.toString()).toContain('"comparison":{"rbo"');
  });

  it('matches the schema serialiser on random responses (unicode, escapes, any number)', async () => {
    await fc.assert(
      fc.asyncProperty(response, async (r) => {
        expect(encodeRecommendations(r).equals(await viaSchema(r))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('an item seen before under another title, or a label on the other side, is written as it is now', async () => {
    const base = fullSample(RecommendationsResponse as Schema) as RecommendationsResponseT;
    const first = base.items[0];
    const contribution = first.explanation?.neurons[0];
    if (!contribution) throw new Error('the full sample has a contribution');
    const variants: RecommendationsResponseT[] = [
      base,
      { ...base, items: [{ ...first, title: 'Renamed "title" ü' }] },
      {
        ...base,
        items: [
          {
            ...first,
            explanation: {
              ...first.explanation!,
              neurons: [{ ...contribution, side: contribution.side === 'user' ? 'item' : 'user' }],
            },
          },
        ],
      },
    ];
    for (const r of variants) expect(encodeRecommendations(r).equals(await viaSchema(r))).toBe(true);
  });

  it('returns a fresh buffer each call (the writer behind it is reused)', () => {
    const a = fullSample(RecommendationsResponse as Schema) as RecommendationsResponseT;
    const first = encodeRecommendations(a);
    const copy = Buffer.from(first);
    encodeRecommendations({ ...a, userId: 'someone else', items: [] });
    expect(first.equals(copy)).toBe(true);
  });
});
