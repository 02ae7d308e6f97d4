import { blankNeuron } from '../../src/ml/concepts/neuron.ts';
import type { NeuronInfo } from '../../src/ml/concepts/types.ts';
import { saveCatalog } from '../../src/ml/data/serialize.ts';
import { generateSynthetic } from '../../src/ml/data/synthetic.ts';
import { emptyMfModel } from '../../src/ml/models/mf/model.ts';
import { saveRecommender } from '../../src/ml/models/serialize.ts';
import { saveSae } from '../../src/ml/sae/serialize.ts';
import type { Sae } from '../../src/ml/sae/types.ts';
import type { ModelVersion, Store } from '../../src/store/types.ts';

/** Tiny but real artifacts (a synthetic catalogue, an MF model, an SAE) for repository tests. */
export function fixtureArtifacts(seed = 0, dim = 4, latents = 8) {
  const dataset = generateSynthetic({
    users: 30,
    items: 20,
    genres: 3,
    interactionsPerUser: 6,
    minInteractions: 3,
    seed,
  });
  const mf = emptyMfModel(dataset.users.ids.length, dataset.items.ids.length, dim);
  mf.params.itemEmb.forEach((_, i, a) => {
    a[i] = Math.sin(i + seed);
  });
  const sae: Sae = {
    kind: 'sae',
    config: { inputDim: dim, latents, activation: 'relu' },
    params: {
      W: Float32Array.from({ length: latents * dim }, (_, i) => Math.cos(i + seed)),
      bEnc: new Float32Array(latents),
      bPre: new Float32Array(dim),
      inputScale: Float32Array.of(1),
    },
  };
  return {
    dataset,
    catalog: saveCatalog(dataset),
    recommender: saveRecommender(mf),
    sae: saveSae({ shared: true, user: sae, item: sae }),
    dim,
    latents,
  };
}

export function fixtureNeurons(n: number): NeuronInfo[] {
  return Array.from({ length: n }, (_, index) =>
    blankNeuron(index, {
      label: `concept ${index}`,
      kind: 'concept',
      concept: `tag${index}`,
      purity10: 0.5,
      purity20: 0.5,
      purity50: 0.5,
      popPct20: 50,
      popPct50: 50,
      itemDensity: 0.1,
      userDensity: 0.1,
      topItems: [0, 1],
      evidence: 'fixture',
    }),
  );
}

/** Stores a fixture's artifacts and records a 'full' version over them. */
export function insertFullVersion(store: Store, seed = 0): ModelVersion {
  const a = fixtureArtifacts(seed);
  const catalog = store.artifacts.put('catalog', a.catalog);
  const recommender = store.artifacts.put('recommender', a.recommender);
  const sae = store.artifacts.put('sae', a.sae);
  return store.models.create({
    kind: 'full',
    datasetSpec: 'synthetic',
    datasetName: a.dataset.name,
    recommenderKind: 'mf',
    dim: a.dim,
    latents: a.latents,
    nUsers: a.dataset.users.ids.length,
    nItems: a.dataset.items.ids.length,
    metrics: { ranking: { hr: 0.1 * (seed + 1) } },
    artifacts: { catalog: catalog.sha256, recommender: recommender.sha256, sae: sae.sha256 },
    neurons: fixtureNeurons(a.latents),
    report: { seed },
  });
}
