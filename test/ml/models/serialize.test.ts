import { describe, expect, it } from 'vitest';
import { encodeArtifact } from '../../../src/ml/artifact/format.ts';
import { Rng } from '../../../src/ml/core/rng.ts';
import { emptyMfModel } from '../../../src/ml/models/mf/model.ts';
import { loadRecommender, saveRecommender } from '../../../src/ml/models/serialize.ts';
import type { NcfModel, Recommender } from '../../../src/ml/models/types.ts';

function randomize(model: Recommender, seed: number): void {
  const rng = new Rng(seed);
  const fill = (t: Float32Array) => {
    for (let k = 0; k < t.length; k++) t[k] = rng.normal();
  };
  fill(model.params.userEmb);
  fill(model.params.itemEmb);
  if (model.kind === 'mf') {
    fill(model.params.userBias);
    fill(model.params.itemBias);
    fill(model.params.globalBias);
  } else {
    for (const l of model.params.layers) {
      fill(l.W);
      fill(l.b);
    }
  }
}

function handBuiltNcf(): NcfModel {
  const dim = 3;
  const widths = [6, 4, 2, 1];
  const layers = widths.slice(1).map((outDim, k) => ({
    inDim: widths[k],
    outDim,
    W: new Float32Array(outDim * widths[k]),
    b: new Float32Array(outDim),
  }));
  return {
    kind: 'ncf',
    nUsers: 5,
    nItems: 7,
    dim,
    hidden: [4, 2],
    params: { userEmb: new Float32Array(15), itemEmb: new Float32Array(21), layers },
  };
}

describe('saveRecommender / loadRecommender', () => {
  it('round-trips MF exactly', () => {
    const m = emptyMfModel(5, 7, 3);
    randomize(m, 1);
    expect(loadRecommender(saveRecommender(m))).toEqual(m);
  });

  it('round-trips a hand-built NCF exactly', () => {
    const m = handBuiltNcf();
    randomize(m, 2);
    const back = loadRecommender(saveRecommender(m));
    expect(back).toEqual(m);
  });

  it('rejects corrupted bytes and wrong shapes', () => {
    const m = emptyMfModel(5, 7, 3);
    randomize(m, 3);
    const bytes = saveRecommender(m);
    const bad = bytes.slice();
    bad[bad.length - 3] ^= 0xff;
    expect(() => loadRecommender(bad)).toThrow(/checksum/);
    const lying = encodeArtifact(
      'recommender',
      { model: 'mf', nUsers: 6, nItems: 7, dim: 3 },
      { ...m.params },
    );
    expect(() => loadRecommender(lying)).toThrow(/userEmb/);
  });
});
