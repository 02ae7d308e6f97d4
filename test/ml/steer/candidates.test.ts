import { describe, expect, it } from 'vitest';
import { compilePolicies, planItemViews, steerItems, steerUser } from '../../../src/ml/steer/apply.ts';
import { steerContext } from '../../../src/ml/steer/context.ts';
import type { Policy } from '../../../src/ml/steer/policy.ts';
import { type RecommendOptions, recommend } from '../../../src/ml/steer/recommend.ts';
import { tinyBundle } from './fixture.ts';

/**
 * The candidate-list fast path must give exactly what scoring the whole catalogue gives: same items,
 * same Float32 scores, same explanations and comparisons, for every user — including lists short
 * enough that the bound often fails and the request falls back.
 */
const bundle = tinyBundle({ nUsers: 40, nItems: 90, latents: 12, activation: 'topk', seed: 7 });
const ctx = steerContext(bundle);
const nUsers = bundle.recommender.nUsers;

const cases: [string, RecommendOptions][] = [
  ['plain', { k: 10 }],
  ['explained', { k: 6, explain: { topN: 3 } }],
  ['extra exclusions', { k: 8, exclude: [0, 3, 5, 8, 13, 21, 34, 55], compare: true }],
  [
    'suppress view',
    {
      k: 10,
      policies: [{ kind: 'suppress', neuron: 0, strength: 1, all: true }],
      explain: true,
      compare: true,
    },
  ],
  [
    'two suppress views',
    {
      k: 12,
      policies: [
        { kind: 'suppress', concept: 'Comedy', strength: 0.6, all: true },
        { kind: 'suppress', neuron: 7, strength: 1, users: ['u3', 'u4', 'u9'] },
      ] as Policy[],
      compare: true,
    },
  ],
  [
    // The fast path walks each item's code in neuron order; the full pass must add in that order too.
    'suppress views listed out of neuron order',
    {
      k: 10,
      policies: [
        { kind: 'suppress', neuron: 9, strength: 0.7, all: true },
        { kind: 'suppress', neuron: 3, strength: 0.5, all: true },
        { kind: 'suppress', neuron: 6, strength: 1, all: true },
      ] as Policy[],
      explain: true,
      compare: true,
    },
  ],
  [
    'strong suppress',
    { k: 10, policies: [{ kind: 'suppress', neuron: 2, strength: 1.8, all: true }], compare: true },
  ],
  [
    // Two strong suppressions of one neuron compose to a factor 4: scores can rise, so not the
    // lowers-only path.
    'stacked suppress that raises',
    {
      k: 10,
      policies: [
        { kind: 'suppress', neuron: 2, strength: 3, all: true },
        { kind: 'suppress', neuron: 2, strength: 3, all: true },
      ] as Policy[],
      compare: true,
    },
  ],
  [
    'user-side boost',
    { k: 10, policies: [{ kind: 'boost', neuron: 2, strength: 0.5, all: true }], compare: true },
  ],
  ['global popularity', { k: 10, policies: [{ kind: 'popularity', strength: 0.3 }], explain: true }],
];

function run(size: number, opts: RecommendOptions): string[] {
  ctx.configureCandidates(size);
  const out: string[] = [];
  for (let u = 0; u < nUsers; u++) out.push(JSON.stringify(recommend(bundle, u, opts)));
  return out;
}

describe('candidate lists', () => {
  it.each(cases)('give the full pass’s exact result: %s', (_name, opts) => {
    const full = run(0, opts);
    for (const size of [4, 12, 200]) {
      expect(run(size, opts)).toEqual(full);
    }
    ctx.configureCandidates(64);
  });

  it('answer most unsteered and item-view requests without scoring the catalogue', () => {
    ctx.configureCandidates(24);
    const lists = ctx.candidates()!;
    for (let u = 0; u < nUsers; u++) {
      recommend(bundle, u, { k: 10 });
      recommend(bundle, u, { k: 10, policies: [{ kind: 'suppress', neuron: 0, strength: 1, all: true }] });
    }
    expect(lists.stats.fast).toBeGreaterThan(1.5 * nUsers);
    // A user-side edit changes the user's vector: the lists do not apply.
    recommend(bundle, 0, { k: 10, policies: [{ kind: 'boost', neuron: 2, strength: 0.5, all: true }] });
    expect(lists.stats.fallback).toBeGreaterThan(0);
    ctx.configureCandidates(64);
  });

  it('take the lowers-only path for suppress views on MF, and the general one when scores can rise', () => {
    /** The plan of the first user the views move (one whose pull on neuron 2 is positive, for MF). */
    const plan = (b: typeof bundle, policies: Policy[]) => {
      const c = steerContext(b);
      const compiled = compilePolicies(c, policies);
      for (let user = 0; user < b.recommender.nUsers; user++) {
        const u = steerUser(c, compiled, user);
        const p = planItemViews(c, compiled, u.itemViews, u.vec, steerItems(c, compiled));
        if (p) return p;
      }
      throw new Error('the views move no user');
    };
    const suppress = (strength: number): Policy => ({ kind: 'suppress', neuron: 2, strength, all: true });
    expect(plan(bundle, [suppress(1)]).onlyLowers).toBe(true);
    expect(plan(bundle, [suppress(0.6), suppress(0.5)]).onlyLowers).toBe(true);
    expect(plan(bundle, [suppress(3), suppress(3)]).onlyLowers).toBe(false); // a factor 4 raises
    // Signed codes (none of the built-in encoders makes them): scaling down could raise a score.
    const codes = steerContext(bundle).itemSparseCodes();
    codes.nonNegative = false;
    try {
      expect(plan(bundle, [suppress(1)]).onlyLowers).toBe(false);
    } finally {
      codes.nonNegative = true;
    }
    const ncf = tinyBundle({ kind: 'ncf', nUsers: 40, nItems: 90, latents: 12, activation: 'topk', seed: 7 });
    expect(plan(ncf, [suppress(1)]).onlyLowers).toBe(false);
  });
});
