import { describe, expect, it } from 'vitest';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { encode } from '../../../src/ml/sae/model.ts';
import type { Policy } from '../../../src/ml/steer/policy.ts';
import { recommend } from '../../../src/ml/steer/recommend.ts';
import { neuron, tinyBundle } from './fixture.ts';

// Steered scores re-derived from the semantics documented in policy.ts, in float64, without the steering
// module: codes z = encode(e), an edit z → z', the row written as e' = e + s·Wᵀ(z' − z), MF score
// u'·i' + biases. The other steering tests compare the fast paths with the module's own full pass, so a
// wrong sign or scale shared by both (popularity dampening that amplifies, a delta without the input
// scale, boost sized by the items' activations) passed them.

const bundle = tinyBundle({ latents: 8, nUsers: 30, nItems: 40 });
// Neuron 3 fires on niche items: popularity policies move it the other way (σ = −1).
bundle.neurons[3] = neuron(3, 'niche', { kind: 'popularity', concept: null, popPct20: 90, popPct50: 90 });
const model = bundle.recommender as MfModel;
const { dim, nUsers, nItems } = model;
const sae = bundle.sae.user; // shared
const L = sae.config.latents;
const W = sae.params.W;
const s = sae.params.inputScale[0];
const userCodes = encode(sae, model.params.userEmb, nUsers);
const itemCodes = encode(sae, model.params.itemEmb, nItems);

const columnMax = (codes: Float32Array, rows: number) =>
  Array.from({ length: L }, (_, j) => {
    let m = 0;
    for (let r = 0; r < rows; r++) m = Math.max(m, codes[r * L + j]);
    return m;
  });
const userRef = columnMax(userCodes, nUsers);
const itemRef = columnMax(itemCodes, nItems);

const rowOf = (a: Float32Array, r: number, width: number) =>
  Array.from(a.subarray(r * width, (r + 1) * width));
/** e + s·Wᵀ(z' − z). */
const edited = (e: number[], z: number[], z2: number[]) =>
  e.map((v, c) => {
    let t = v;
    for (let j = 0; j < L; j++) t += (z2[j] - z[j]) * s * W[j * dim + c];
    return t;
  });
const pullOf = (u: number[], j: number) => u.reduce((t, v, c) => t + v * W[j * dim + c], 0);

interface Case {
  name: string;
  policies: Policy[];
  user?: (z: number[], u: number) => void;
  item?: (z: number[], i: number, steeredUser: number[]) => void;
}

const cases: Case[] = [
  {
    name: 'suppress on items (only the neurons that pull this user up)',
    policies: [{ kind: 'suppress', neuron: 0, strength: 1, all: true }],
    item: (z, _i, u) => {
      if (pullOf(u, 0) > 0) z[0] *= 0;
    },
  },
  {
    // Views compose per neuron in the order given (5 twice: 0.6·0.5), listed out of neuron order.
    name: 'several suppressions on items: factors multiply per neuron, each where the neuron pulls up',
    policies: [
      { kind: 'suppress', neuron: 5, strength: 0.4, all: true },
      { kind: 'suppress', neuron: 2, strength: 1, all: true },
      { kind: 'suppress', neuron: 5, strength: 0.5, all: true },
    ],
    item: (z, _i, u) => {
      if (pullOf(u, 5) > 0) z[5] *= 0.6 * 0.5;
      if (pullOf(u, 2) > 0) z[2] *= 0;
    },
  },
  {
    // The view edits the code the global item policy left: 0.5·z, then 0.4 of that where it pulls up.
    name: 'a suppress view on top of a global item edit of the same neuron',
    policies: [
      { kind: 'popularity', neuron: 1, strength: -0.5 },
      { kind: 'suppress', neuron: 1, strength: 0.6, all: true },
    ],
    item: (z, _i, u) => {
      z[1] *= 0.5;
      if (pullOf(u, 1) > 0) z[1] *= 0.4;
    },
  },
  {
    name: 'suppress on users: z′ = (1 − strength)·z',
    policies: [{ kind: 'suppress', neuron: 0, strength: 0.7, all: true, on: 'users' }],
    user: (z) => {
      z[0] *= 0.3;
    },
  },
  {
    name: 'boost: z′ = z + strength·(largest activation over USERS)',
    policies: [{ kind: 'boost', neuron: 2, strength: 0.5, all: true }],
    user: (z) => {
      z[2] += 0.5 * userRef[2];
    },
  },
  {
    name: 'promote: z′ = z + strength·(largest activation over ITEMS), listed items only',
    policies: [{ kind: 'promote', neuron: 0, strength: 1, items: ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'] }],
    item: (z, i) => {
      if (i < 6) z[0] += itemRef[0];
    },
  },
  {
    name: 'dampen popularity on items, popular neuron: z′ = (1 − 0.5)·z',
    policies: [{ kind: 'popularity', neuron: 1, strength: -0.5 }],
    item: (z) => {
      z[1] *= 0.5;
    },
  },
  {
    name: 'dampen popularity on items, niche neuron (σ = −1): z′ = (1 + 0.5)·z',
    policies: [{ kind: 'popularity', neuron: 3, strength: -0.5 }],
    item: (z) => {
      z[3] *= 1.5;
    },
  },
  {
    name: 'dampen popularity on users: z′ = z − 1·ref (users)',
    policies: [{ kind: 'popularity', neuron: 1, strength: -1, on: 'users' }],
    user: (z) => {
      z[1] -= userRef[1];
    },
  },
];

describe('steered scores against the documented policy semantics (independent float64 reference)', () => {
  for (const c of cases)
    it(c.name, () => {
      let moved = 0;
      for (let u = 0; u < nUsers; u++) {
        const zu = rowOf(userCodes, u, L);
        const zu2 = zu.slice();
        c.user?.(zu2, u);
        const uVec = edited(rowOf(model.params.userEmb, u, dim), zu, zu2);
        const want = Array.from({ length: nItems }, (_, i) => {
          const zi = rowOf(itemCodes, i, L);
          const zi2 = zi.slice();
          c.item?.(zi2, i, uVec);
          const iVec = edited(rowOf(model.params.itemEmb, i, dim), zi, zi2);
          const dot = uVec.reduce((t, v, k) => t + v * iVec[k], 0);
          return dot + model.params.userBias[u] + model.params.itemBias[i] + model.params.globalBias[0];
        });
        const { indptr, indices } = bundle.dataset.interactions;
        const seen = new Set(indices.subarray(indptr[u], indptr[u + 1]));
        const kth = want.filter((_, i) => !seen.has(i)).sort((a, b) => b - a)[4];
        const got = recommend(bundle, u, { k: 5, policies: c.policies });
        if (got.steered) moved++;
        for (const item of got.items) {
          expect(item.score, `user ${u}, item ${item.index}`).toBeCloseTo(want[item.index], 4);
          expect(item.score).toBeGreaterThanOrEqual(kth - 1e-4); // and it is the top 5 by the reference
        }
      }
      expect(moved, 'the policy moved some user').toBeGreaterThan(0);
    });
});
