// Segment thresholds, replace mode, and the candidate-list fast path's agreement with the full pass.
import { describe, expect, it } from 'vitest';
import { topKExcluding } from '../../../src/ml/eval/topk.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { decode, encode } from '../../../src/ml/sae/model.ts';
import { compilePolicies, steerItems, steerUser } from '../../../src/ml/steer/apply.ts';
import { steerContext } from '../../../src/ml/steer/context.ts';
import type { Policy } from '../../../src/ml/steer/policy.ts';
import { recommend } from '../../../src/ml/steer/recommend.ts';
import { neuron, tinyBundle } from './fixture.ts';

describe('who a segment targets', () => {
  it('threshold 0 means "active on the neuron": users whose code is 0 there are not targeted', () => {
    const bundle = tinyBundle({ latents: 10 });
    const model = bundle.recommender as MfModel;
    const { dim, nUsers } = model;
    const ctx = steerContext(bundle);
    const codes = encode(bundle.sae.user, model.params.userEmb, nUsers);
    const L = bundle.sae.user.config.latents;
    // a neuron some users carry and some do not
    const j = Array.from({ length: L }, (_, q) => q).find((q) => {
      let on = 0;
      for (let u = 0; u < nUsers; u++) if (codes[u * L + q] > 0) on++;
      return on > 0 && on < nUsers;
    })!;
    expect(j).toBeDefined();
    const compiled = compilePolicies(ctx, [
      { kind: 'suppress', neuron: j, strength: 1, segment: { threshold: 0 }, on: 'users' },
    ]);
    for (let u = 0; u < nUsers; u++) {
      const s = steerUser(ctx, compiled, u);
      expect(s.applied[0], `user ${u}`).toBe(codes[u * L + j] > 0);
      if (codes[u * L + j] === 0)
        expect(s.vec).toEqual(model.params.userEmb.subarray(u * dim, (u + 1) * dim));
    }
  });
});

describe('popularity on users with one SAE per side', () => {
  it("takes no sign from the item SAE's labels: user neuron j is not item neuron j", () => {
    const bundle = tinyBundle({ latents: 8, shared: false });
    // Item neuron 3 fires on niche items; user neuron 3 is another atom, never analysed.
    bundle.neurons[3] = neuron(3, 'niche', { kind: 'popularity', concept: null, popPct20: 90, popPct50: 90 });
    const ctx = steerContext(bundle);
    const dampen: Policy = { kind: 'popularity', neuron: 3, strength: -1, on: 'users' };
    const subtract: Policy = {
      kind: 'edit',
      side: 'user',
      op: 'add',
      value: -ctx.userRef()[3],
      neuron: 3,
      all: true,
    };
    for (let u = 0; u < bundle.recommender.nUsers; u++)
      expect(steerUser(ctx, compilePolicies(ctx, [dampen]), u).vec, `user ${u}`).toEqual(
        steerUser(ctx, compilePolicies(ctx, [subtract]), u).vec,
      );
  });
});

describe('replace mode writes D(z′) + b_pre', () => {
  const bundle = tinyBundle({ latents: 10 });
  const model = bundle.recommender as MfModel;
  const { dim } = model;
  const sae = bundle.sae.user; // shared
  const L = sae.config.latents;
  const ctx = steerContext(bundle);

  it('user side: e′ = s·Wᵀz′ + b_pre', () => {
    const u = 5;
    const z = encode(sae, model.params.userEmb.subarray(u * dim, (u + 1) * dim), 1);
    const z2 = z.slice();
    z2[0] *= 0.5;
    const want = decode(sae, z2, 1);
    const got = steerUser(
      ctx,
      compilePolicies(ctx, [
        { kind: 'suppress', neuron: 0, strength: 0.5, users: ['u6'], on: 'users', mode: 'replace' },
      ]),
      u,
    ).vec;
    for (let c = 0; c < dim; c++) expect(got[c]).toBeCloseTo(want[c], 5);
  });

  it('item side: a row is written in replace mode when ANY policy editing it asked for it', () => {
    const i = 0; // item "i1"
    const z = encode(sae, model.params.itemEmb.subarray(i * dim, (i + 1) * dim), 1);
    const policies: Policy[] = [
      { kind: 'edit', side: 'item', op: 'scale', value: 0.5, neuron: 0, items: ['i1'], mode: 'replace' },
      { kind: 'edit', side: 'item', op: 'scale', value: 0.5, neuron: 2, items: ['i1'] }, // delta
    ];
    const z2 = z.slice();
    z2[0] *= 0.5;
    z2[2] *= 0.5;
    const want = decode(sae, z2, 1);
    const row = steerItems(ctx, compilePolicies(ctx, policies)).itemEmb.subarray(i * dim, (i + 1) * dim);
    for (let c = 0; c < dim; c++) expect(row[c]).toBeCloseTo(want[c], 5);
    expect(L).toBeGreaterThan(2);
  });
});

describe('candidate-list fast path', () => {
  it('includeSeen lists the training positives too (the lists leave them out)', () => {
    const bundle = tinyBundle({ nUsers: 40, nItems: 90, latents: 12, activation: 'topk', seed: 7 });
    const model = bundle.recommender as MfModel;
    const { dim, nUsers, nItems } = model;
    const scores = new Float32Array(nItems);
    let seenListed = 0;
    for (let u = 0; u < nUsers; u++) {
      mfScorer(model).scoreAll(
        u,
        model.params.userEmb.subarray(u * dim, (u + 1) * dim),
        model.params.itemEmb,
        scores,
      );
      const want = Array.from(topKExcluding(scores, 10));
      const got = recommend(bundle, u, { k: 10, includeSeen: true }).items.map((x) => x.index);
      expect(got, `user ${u}`).toEqual(want);
      const { indptr, indices } = bundle.dataset.interactions;
      const seen = new Set(indices.subarray(indptr[u], indptr[u + 1]));
      if (got.some((i) => seen.has(i))) seenListed++;
    }
    expect(seenListed, 'some user has a training positive in the top 10').toBeGreaterThan(0);
  });

  it('breaks exact score ties towards the lower item index, as the full pass does', () => {
    const bundle = tinyBundle({ nUsers: 40, nItems: 90, latents: 12, activation: 'topk', seed: 7 });
    const model = bundle.recommender as MfModel;
    const { dim, nUsers, nItems } = model;
    const { itemEmb, itemBias } = model.params;
    // items 4 and 5 identical: every user scores them equally, bit for bit
    itemEmb.copyWithin(5 * dim, 4 * dim, 5 * dim);
    itemBias[5] = itemBias[4];
    const ctx = steerContext(bundle);
    const run = (size: number) => {
      ctx.configureCandidates(size);
      return Array.from({ length: nUsers }, (_, u) =>
        recommend(bundle, u, { k: nItems }).items.map((x) => x.index),
      );
    };
    const full = run(0);
    const fast = run(200); // lists hold every unseen item: the fast path answers every request
    expect(ctx.candidates()!.stats.fast).toBeGreaterThan(0);
    expect(fast).toEqual(full);
    for (const list of full) {
      const a = list.indexOf(4);
      const b = list.indexOf(5);
      if (a >= 0 && b >= 0) expect(b).toBe(a + 1);
    }
  });
});
