import type { ModelBundle } from '../../../src/ml/bundle.ts';
import { blankNeuron } from '../../../src/ml/concepts/neuron.ts';
import type { NeuronInfo } from '../../../src/ml/concepts/types.ts';
import { Rng } from '../../../src/ml/core/rng.ts';
import type { Csr, Dataset } from '../../../src/ml/data/types.ts';
import type { DenseLayer, MfModel, NcfModel } from '../../../src/ml/models/types.ts';
import type { Sae } from '../../../src/ml/sae/types.ts';

/** Small hand-built models so steering/explanation tests need no training. */

export function randomArray(n: number, rng: Rng, std = 1, mean = 0): Float32Array {
  const a = new Float32Array(n);
  for (let r = 0; r < n; r++) a[r] = mean + rng.normal() * std;
  return a;
}

export function tinySae(dim: number, latents: number, rng: Rng, activation: 'relu' | 'topk' = 'relu'): Sae {
  return {
    kind: 'sae',
    config: { inputDim: dim, latents, activation, k: activation === 'topk' ? 3 : undefined },
    params: {
      W: randomArray(latents * dim, rng, 0.6),
      bEnc: randomArray(latents, rng, 0.1, 0.05),
      bPre: randomArray(dim, rng, 0.2),
      inputScale: Float32Array.of(1.3),
    },
  };
}

export function tinyMf(nUsers: number, nItems: number, dim: number, rng: Rng): MfModel {
  return {
    kind: 'mf',
    nUsers,
    nItems,
    dim,
    params: {
      userEmb: randomArray(nUsers * dim, rng),
      itemEmb: randomArray(nItems * dim, rng),
      userBias: randomArray(nUsers, rng, 0.3),
      itemBias: randomArray(nItems, rng, 0.3),
      globalBias: Float32Array.of(0.7),
    },
  };
}

function layer(inDim: number, outDim: number, rng: Rng, bias = 0.1): DenseLayer {
  return {
    inDim,
    outDim,
    W: randomArray(outDim * inDim, rng, 1 / Math.sqrt(inDim)),
    b: randomArray(outDim, rng, 0.1, bias),
  };
}

/** NCF with one hidden layer; `alwaysActive` gives it a huge bias so the ReLU never bites (linear MLP). */
export function tinyNcf(
  nUsers: number,
  nItems: number,
  dim: number,
  rng: Rng,
  alwaysActive = false,
): NcfModel {
  const hidden = 8;
  return {
    kind: 'ncf',
    nUsers,
    nItems,
    dim,
    hidden: [hidden],
    params: {
      userEmb: randomArray(nUsers * dim, rng),
      itemEmb: randomArray(nItems * dim, rng),
      layers: [layer(2 * dim, hidden, rng, alwaysActive ? 1000 : 0.1), layer(hidden, 1, rng)],
    },
  };
}

function randomCsr(rows: number, cols: number, perRow: number, rng: Rng): Csr {
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  for (let r = 0; r < rows; r++) {
    const set = new Set<number>();
    while (set.size < perRow) set.add(rng.nextInt(cols));
    idx.push(...[...set].sort((a, b) => a - b));
    indptr[r + 1] = idx.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(idx) };
}

export function neuron(index: number, label: string, extra: Partial<NeuronInfo> = {}): NeuronInfo {
  return blankNeuron(index, {
    label,
    kind: label === '' ? 'unlabelled' : 'concept',
    concept: label === '' ? null : label,
    popPct20: 50,
    popPct50: 50,
    itemDensity: 0.1,
    userDensity: 0.1,
    ...extra,
  });
}

export interface FixtureOptions {
  nUsers?: number;
  nItems?: number;
  dim?: number;
  latents?: number;
  kind?: 'mf' | 'ncf';
  linearNcf?: boolean;
  shared?: boolean;
  activation?: 'relu' | 'topk';
  seed?: number;
}

/** A complete bundle: neuron 0 "Horror", 1 "popular" (kind popularity), 2 "Comedy", the rest unlabelled. */
export function tinyBundle(o: FixtureOptions = {}): ModelBundle {
  const { nUsers = 30, nItems = 40, dim = 5, latents = 8, kind = 'mf', seed = 1 } = o;
  const rng = new Rng(seed);
  const recommender =
    kind === 'mf' ? tinyMf(nUsers, nItems, dim, rng) : tinyNcf(nUsers, nItems, dim, rng, o.linearNcf);
  const userSae = tinySae(dim, latents, rng, o.activation);
  const itemSae = o.shared === false ? tinySae(dim, latents, rng, o.activation) : userSae;
  const ids = (p: string, n: number) => Array.from({ length: n }, (_, r) => `${p}${r + 1}`);
  const userIds = ids('u', nUsers);
  const itemIds = ids('i', nItems);
  const dataset: Dataset = {
    name: 'tiny',
    users: { ids: userIds, index: new Map(userIds.map((id, r) => [id, r])) },
    items: { ids: itemIds, index: new Map(itemIds.map((id, r) => [id, r])) },
    interactions: randomCsr(nUsers, nItems, 4, rng),
    itemTitles: itemIds.map((id) => `Title ${id}`),
    itemTags: itemIds.map((_, r) => (r % 3 === 0 ? ['Horror'] : r % 3 === 1 ? ['Comedy'] : ['Drama'])),
    itemYears: new Int32Array(nItems),
  };
  const neurons: NeuronInfo[] = [
    neuron(0, 'Horror'),
    neuron(1, 'popular', { kind: 'popularity', concept: null, popPct20: 5 }),
    neuron(2, 'Comedy'),
  ];
  for (let j = 3; j < latents; j++) neurons.push(neuron(j, ''));
  const popularity = new Int32Array(nItems);
  for (let r = 0; r < dataset.interactions.indices.length; r++) popularity[dataset.interactions.indices[r]]++;
  return {
    dataset,
    recommender,
    sae: { shared: itemSae === userSae, user: userSae, item: itemSae },
    neurons,
    popularity,
  };
}
