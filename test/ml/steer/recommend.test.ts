import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topKExcluding } from '../../../src/ml/eval/topk.ts';
import { explainMf } from '../../../src/ml/explain/mf.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { encode } from '../../../src/ml/sae/model.ts';
import { sparseCode } from '../../../src/ml/sae/sparse.ts';
import { applyItemViews, compilePolicies, steerItems, steerUser } from '../../../src/ml/steer/apply.ts';
import { steerContext } from '../../../src/ml/steer/context.ts';
import type { Policy } from '../../../src/ml/steer/policy.ts';
import { recommend } from '../../../src/ml/steer/recommend.ts';
import { tinyBundle } from './fixture.ts';

const bundle = tinyBundle({ latents: 10 });
const model = bundle.recommender as MfModel;
const { dim } = model;
const nUsers = model.nUsers;

function plainTop(user: number, k: number): Int32Array {
  const scores = new Float32Array(model.nItems);
  mfScorer(model).scoreAll(
    user,
    model.params.userEmb.subarray(user * dim, (user + 1) * dim),
    model.params.itemEmb,
    scores,
  );
  const { indptr, indices } = bundle.dataset.interactions;
  return topKExcluding(scores, k, indices, indptr[user], indptr[user + 1]);
}

describe('recommend', () => {
  it('without policies is the plain top-k with training positives excluded', () => {
    for (let u = 0; u < nUsers; u++) {
      const r = recommend(bundle, u, { k: 7 });
      expect(r.items.map((x) => x.index)).toEqual(Array.from(plainTop(u, 7)));
      expect(r.items[0].item).toBe(bundle.dataset.items.ids[r.items[0].index]);
      expect(r.steered).toBe(false);
    }
    const seen = bundle.dataset.interactions.indices.subarray(0, 4);
    const extra = plainTop(0, 2);
    const r = recommend(bundle, 0, { k: 5, exclude: extra });
    for (const x of r.items) expect([...seen, ...extra]).not.toContain(x.index);
  });

  it('rejects an unknown user index, and exclude entries that are not item indices', () => {
    expect(() => recommend(bundle, nUsers)).toThrow(/outside/);
    // A fraction was truncated by one path and ignored by the other, so the two disagreed.
    for (const bad of [35.5, -1, model.nItems])
      expect(() => recommend(bundle, 0, { exclude: [1, bad] })).toThrow(/exclude\[1\]/);
  });

  it('explanations add up to the (steered) score of each listed item', () => {
    const policies: Policy[] = [
      { kind: 'suppress', concept: 'Horror', strength: 0.7, users: ['u3'], on: 'users' },
      { kind: 'popularity', strength: -0.5 },
      { kind: 'suppress', neuron: 4, strength: 2, users: ['u3'] },
      { kind: 'suppress', neuron: 5, strength: 2, users: ['u4'] },
    ];
    const r = recommend(bundle, 2, { k: 5, policies, explain: { topN: 3 }, compare: true });
    expect(r.policies.map((p) => p.applied)).toEqual([true, true, true, false]);
    for (const x of r.items) {
      const e = x.explanation!;
      const total = e.top.reduce((s, c) => s + c.value, 0) + e.other + e.base + e.residual;
      expect(total).toBeCloseTo(x.score, 4);
      expect(e.top.length).toBeLessThanOrEqual(3);
    }
    expect(r.unsteered!.items).toHaveLength(5);
    const same = recommend(bundle, 2, { k: 5, compare: true });
    expect(same.unsteered!.kendallTau).toBe(1);
    expect(same.unsteered!.rbo).toBeCloseTo(1 - 0.9 ** 5, 6);
  });

  it("compare with fewer than k listable items: RBO is truncated at the lists' length, so identical ones score 1 − 0.9^n", () => {
    const small = tinyBundle({ nItems: 12 });
    const r = recommend(small, 2, { k: 20, compare: true });
    const n = r.items.length;
    expect(n).toBeLessThan(20);
    expect(r.unsteered!.rbo).toBeCloseTo(1 - 0.9 ** n, 9);
    expect(r.unsteered!.kendallTau).toBe(1);
  });

  it('with one SAE per side, labels only item-SAE neurons: MF explains the item side, NCF leaves user neurons unlabelled', () => {
    for (const kind of ['mf', 'ncf'] as const) {
      const separate = tinyBundle({ shared: false, kind, latents: 10 });
      const labels = steerContext(separate).labels;
      const r = recommend(separate, 1, { k: 5, explain: { topN: 50 } });
      let userSide = 0;
      for (const x of r.items) {
        expect(x.explanation!.top.length).toBeGreaterThan(0);
        for (const c of x.explanation!.top) {
          if (c.side === 'user') userSide++;
          expect(c.label).toBe(c.side === 'item' ? labels[c.neuron] : '');
        }
      }
      if (kind === 'mf') expect(userSide).toBe(0);
      else expect(userSide).toBeGreaterThan(0);
      // Shared: the user side is explained (MF) and labelled.
      const shared = recommend(tinyBundle({ kind, latents: 10 }), 1, { k: 5, explain: { topN: 50 } });
      const userLabels = shared.items.flatMap((x) => x.explanation!.top.filter((c) => c.side === 'user'));
      expect(userLabels.some((c) => c.label !== '')).toBe(true);
    }
  });

  it('zero-strength edits are the identity (property)', () => {
    const ctx = steerContext(bundle);
    const neuronArb = fc.integer({ min: 0, max: 9 });
    const policyArb: fc.Arbitrary<Policy> = fc.oneof(
      neuronArb.map((neuron) => ({
        kind: 'suppress' as const,
        neuron,
        strength: 0,
        segment: { threshold: -1 },
      })),
      neuronArb.map((neuron) => ({ kind: 'boost' as const, neuron, strength: 0, all: true })),
      neuronArb.map((neuron) => ({ kind: 'promote' as const, neuron, strength: 0, items: ['i1', 'i4'] })),
      fc
        .constantFrom('users' as const, 'items' as const)
        .map((on) => ({ kind: 'popularity' as const, strength: 0, on })),
      fc.tuple(neuronArb, fc.constantFrom('user' as const, 'item' as const)).map(([neuron, side]) => ({
        kind: 'edit' as const,
        neuron,
        side,
        op: 'add' as const,
        value: 0,
        ...(side === 'item' ? { items: ['i2'] } : { all: true as const }),
      })),
      fc.tuple(neuronArb, fc.constantFrom('user' as const, 'item' as const)).map(([neuron, side]) => ({
        kind: 'edit' as const,
        neuron,
        side,
        op: 'scale' as const,
        value: 1,
        all: true,
      })),
    );
    const withMode = policyArb.chain((p) =>
      fc.constantFrom<Policy['mode']>('delta', 'replace').map((mode) =>
        // suppress on items is delta only
        p.kind === 'suppress' ? p : { ...p, mode },
      ),
    );
    fc.assert(
      fc.property(
        fc.array(withMode, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: nUsers - 1 }),
        (policies, user) => {
          const compiled = compilePolicies(ctx, policies);
          const u = steerUser(ctx, compiled, user);
          expect(u.vec).toEqual(model.params.userEmb.subarray(user * dim, (user + 1) * dim));
          expect(steerItems(ctx, compiled).itemEmb).toEqual(model.params.itemEmb);
          const steered = recommend(bundle, user, { k: 8, policies });
          const plain = recommend(bundle, user, { k: 8 });
          expect(steered.items).toEqual(plain.items);
          // …and reported as such: nothing steered, no policy applied.
          expect(steered.steered).toBe(false);
          expect(steered.policies.map((p) => p.applied)).toEqual(policies.map(() => false));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('replace mode: strength 0 is the identity as in delta; any other strength swaps in the reconstruction', () => {
    const ctx = steerContext(bundle);
    const user = 5;
    const orig = model.params.userEmb.subarray(user * dim, (user + 1) * dim);
    const steer = (strength: number, mode: 'delta' | 'replace') =>
      steerUser(
        ctx,
        compilePolicies(ctx, [{ kind: 'suppress', neuron: 0, strength, users: ['u6'], mode, on: 'users' }]),
        user,
      ).vec;
    expect(steer(0, 'replace')).toEqual(orig);
    expect(steer(0, 'delta')).toEqual(orig);
    // At a tiny strength delta barely moves the user; replace moves it by its whole reconstruction error.
    const moved = (v: Float32Array) => Math.hypot(...v.map((x, c) => x - orig[c]));
    expect(moved(steer(1e-6, 'delta'))).toBeLessThan(1e-5);
    expect(moved(steer(1e-6, 'replace'))).toBeGreaterThan(1e-3);
  });

  it('users a policy does not target keep their exact vectors and lists (ids and segments)', () => {
    const ctx = steerContext(bundle);
    const threshold = 0.3;
    const policies: Policy[] = [
      { kind: 'suppress', neuron: 0, strength: 3, users: ['u1', 'u9'], on: 'users' },
      { kind: 'suppress', neuron: 2, strength: 2, segment: { threshold } },
      { kind: 'boost', neuron: 4, strength: 1.5, users: ['u2'] },
    ];
    const compiled = compilePolicies(ctx, policies);
    let untargeted = 0;
    let targeted = 0;
    for (let u = 0; u < nUsers; u++) {
      const code = encode(bundle.sae.user, model.params.userEmb.subarray(u * dim, (u + 1) * dim), 1);
      const isTarget = u === 0 || u === 8 || u === 1 || code[2] > threshold;
      const s = steerUser(ctx, compiled, u);
      const steered = recommend(bundle, u, { k: 10, policies });
      const plain = recommend(bundle, u, { k: 10 });
      if (isTarget) {
        targeted++;
        expect(s.applied.some(Boolean)).toBe(true);
      } else {
        untargeted++;
        expect(s.vec).toEqual(model.params.userEmb.subarray(u * dim, (u + 1) * dim));
        expect(steered.items).toEqual(plain.items);
        expect(steered.steered).toBe(false);
      }
    }
    expect(targeted).toBeGreaterThan(2);
    expect(untargeted).toBeGreaterThan(2);
  });

  it('a user-side edit that changes no code entry leaves the user unsteered, served from the candidate list', () => {
    const topk = tinyBundle({ latents: 10, activation: 'topk' });
    const ctx = steerContext(topk);
    const users = Array.from({ length: topk.recommender.nUsers }, (_, u) => u).filter(
      (u) => ctx.userCode(u)[0] === 0,
    );
    expect(users.length).toBeGreaterThan(0);
    const lists = ctx.candidates()!;
    for (const u of users) {
      const fast = lists.stats.fast;
      const r = recommend(topk, u, {
        k: 5,
        compare: true,
        policies: [{ kind: 'suppress', neuron: 0, strength: 1, all: true, on: 'users' }],
      });
      expect(r.policies[0].applied).toBe(true); // it targeted the user
      expect(r.steered, `user ${u}`).toBe(false); // but changed nothing
      expect(lists.stats.fast).toBe(fast + 1);
      expect(r.items).toEqual(recommend(topk, u, { k: 5 }).items);
    }
  });

  it('suppressing a neuron never raises its activation or the size of its contribution (property)', () => {
    const ctx = steerContext(bundle);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: nUsers - 1 }),
        fc.integer({ min: 0, max: 9 }),
        // Strength 0 edits nothing and is skipped (the zero-strength property above).
        fc.double({ min: 1e-6, max: 1, noNaN: true }),
        (user, j, strength) => {
          const compiled = compilePolicies(ctx, [
            { kind: 'suppress', neuron: j, strength, all: true, on: 'users' } as Policy,
          ]);
          const s = steerUser(ctx, compiled, user);
          const before = s.code!;
          const after = s.editedCode ?? before; // null: the code had nothing to suppress
          expect(after[j]).toBeLessThanOrEqual(before[j]);
          const uVec = model.params.userEmb.subarray(user * dim, (user + 1) * dim);
          for (let item = 0; item < model.nItems; item += 7) {
            const iVec = model.params.itemEmb.subarray(item * dim, (item + 1) * dim);
            const common = {
              model,
              user,
              item,
              iVec,
              userSae: bundle.sae.user,
              itemSae: bundle.sae.item,
              labels: ctx.labels,
              topN: 100,
            };
            const cj = (e: ReturnType<typeof explainMf>) => e.top.find((c) => c.neuron === j)?.value ?? 0;
            const b = cj(explainMf({ ...common, uVec, code: sparseCode(before) }));
            const a = cj(explainMf({ ...common, uVec: s.vec, code: sparseCode(after) }));
            expect(Math.abs(a)).toBeLessThanOrEqual(Math.abs(b) + 1e-9);
            if (b > 0) expect(a).toBeLessThanOrEqual(b);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an item view re-scores exactly the items carrying the neuron, as a full per-user item matrix would', () => {
    const ctx = steerContext(bundle);
    const user = 6;
    const j = 2;
    const policies: Policy[] = [
      { kind: 'popularity', strength: -0.7 },
      { kind: 'suppress', neuron: j, strength: 1.8, users: ['u7'] },
    ];
    // Brute force: edit every item's (globally edited) code and score the whole matrix.
    const compiled = compilePolicies(ctx, policies);
    const global = steerItems(ctx, compiled).itemEmb;
    const { W, inputScale } = bundle.sae.item.params;
    const codes = ctx.itemCodes();
    const full = global.slice();
    // The suppress view applies only when neuron j pulls this user's scores up (u·W_j > 0).
    const uRow = model.params.userEmb.subarray(user * dim, (user + 1) * dim);
    let pull = 0;
    for (let c = 0; c < dim; c++) pull += uRow[c] * W[j * dim + c];
    expect(pull).toBeGreaterThan(0);
    let moved = 0;
    for (let i = 0; i < model.nItems; i++) {
      const z = codes[i * 10 + j]; // popularity edits neuron 1 only, so neuron j's activation is the original
      if (z !== 0) moved++;
      for (let c = 0; c < dim; c++) full[i * dim + c] -= 1.8 * z * inputScale[0] * W[j * dim + c];
    }
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThan(model.nItems);
    const scores = new Float32Array(model.nItems);
    mfScorer(model).scoreAll(user, model.params.userEmb.subarray(user * dim, (user + 1) * dim), full, scores);
    const { indptr, indices } = bundle.dataset.interactions;
    const expected = topKExcluding(scores, 12, indices, indptr[user], indptr[user + 1]);
    const r = recommend(bundle, user, { k: 12, policies, explain: { topN: 2 } });
    expect(r.items.map((x) => x.index)).toEqual(Array.from(expected));
    r.items.forEach((x) => {
      expect(x.score).toBeCloseTo(scores[x.index], 4);
      const e = x.explanation!;
      expect(e.top.reduce((s, c) => s + c.value, 0) + e.other + e.base + e.residual).toBeCloseTo(x.score, 4);
    });
    // Another user sees the globally edited matrix only.
    const other = recommend(bundle, 8, { k: 12, policies });
    mfScorer(model).scoreAll(8, model.params.userEmb.subarray(8 * dim, 9 * dim), global, scores);
    expect(other.items.map((x) => x.index)).toEqual(
      Array.from(topKExcluding(scores, 12, indices, indptr[8], indptr[9])),
    );
  });

  it('a suppress view never raises the score of any item (property, MF)', () => {
    const ctx = steerContext(bundle);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: nUsers - 1 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        (user, neurons, strength) => {
          const policies: Policy[] = neurons.map((neuron) => ({
            kind: 'suppress',
            neuron,
            strength,
            all: true,
          }));
          const compiled = compilePolicies(ctx, policies);
          const su = steerUser(ctx, compiled, user);
          const items = steerItems(ctx, compiled);
          const before = new Float32Array(model.nItems);
          items.scorer.scoreAll(user, su.vec, items.itemEmb, before);
          const after = before.slice();
          applyItemViews(ctx, compiled, su.itemViews, user, su.vec, items, after);
          for (let i = 0; i < model.nItems; i++) expect(after[i]).toBeLessThanOrEqual(before[i] + 1e-5);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('applies a delta edit as e + s·(z′_j − z_j)·W_j and caches global item edits per policy version', () => {
    const ctx = steerContext(bundle);
    const user = 7;
    const compiled = compilePolicies(ctx, [
      { kind: 'suppress', neuron: 3, strength: 2.5, all: true, on: 'users' },
    ]);
    const s = steerUser(ctx, compiled, user);
    const { W, inputScale } = bundle.sae.user.params;
    for (let c = 0; c < dim; c++) {
      const expected =
        model.params.userEmb[user * dim + c] - 2.5 * s.code![3] * inputScale[0] * W[3 * dim + c];
      expect(s.vec[c]).toBeCloseTo(expected, 5);
    }
    const p1: Policy = { kind: 'popularity', strength: -0.8, id: 'pop', version: 1 };
    const a = steerItems(ctx, compilePolicies(ctx, [p1]));
    const b = steerItems(ctx, compilePolicies(ctx, [{ ...p1 }]));
    const c = steerItems(ctx, compilePolicies(ctx, [{ ...p1, version: 2 }]));
    expect(b.itemEmb).toBe(a.itemEmb);
    expect(c.itemEmb).not.toBe(a.itemEmb);
    expect(a.itemEmb).not.toEqual(model.params.itemEmb);
  });
});

describe('SteerContext.encodeUser', () => {
  it('gives the same code as encode (ReLU and TopK)', () => {
    for (const activation of ['relu', 'topk'] as const) {
      const b = tinyBundle({ latents: 12, activation, seed: 9 });
      const ctx = steerContext(b);
      const m = b.recommender as MfModel;
      for (let u = 0; u < m.nUsers; u += 3) {
        const vec = m.params.userEmb.subarray(u * m.dim, (u + 1) * m.dim);
        expect(ctx.encodeUser(vec)).toEqual(encode(b.sae.user, vec, 1));
      }
    }
  });
});

describe('item views with an MLP scorer', () => {
  it('re-score the moved items with the frozen NCF, as a full per-user item matrix would', () => {
    const b = tinyBundle({ kind: 'ncf', latents: 10, seed: 4 });
    const ncf = b.recommender;
    const d = ncf.dim;
    const user = 3;
    const policies: Policy[] = [{ kind: 'suppress', neuron: 2, strength: 1.5, users: ['u4'] }];
    const ctx = steerContext(b);
    const codes = ctx.itemCodes();
    const { W, inputScale } = b.sae.item.params;
    const full = ncf.params.itemEmb.slice();
    for (let i = 0; i < ncf.nItems; i++)
      for (let c = 0; c < d; c++) full[i * d + c] -= 1.5 * codes[i * 10 + 2] * inputScale[0] * W[2 * d + c];
    const scores = new Float32Array(ncf.nItems);
    ctx.scorer.scoreAll(user, ncf.params.userEmb.subarray(user * d, (user + 1) * d), full, scores);
    const { indptr, indices } = b.dataset.interactions;
    const r = recommend(b, user, { k: 10, policies, explain: { steps: 8 } });
    expect(r.items.map((x) => x.index)).toEqual(
      Array.from(topKExcluding(scores, 10, indices, indptr[user], indptr[user + 1])),
    );
    for (const x of r.items) {
      expect(x.score).toBeCloseTo(scores[x.index], 4);
      expect(x.explanation!.score).toBeCloseTo(x.score, 4);
    }
  });
});
