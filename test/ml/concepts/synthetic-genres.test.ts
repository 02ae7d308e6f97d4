import { describe, expect, it } from 'vitest';
import { analyseNeurons } from '../../../src/ml/concepts/analyse.ts';
import { itemPopularity } from '../../../src/ml/data/stats.ts';
import { generateSynthetic } from '../../../src/ml/data/synthetic.ts';
import { scorerFor } from '../../../src/ml/models/scorer.ts';
import { trainRecommender } from '../../../src/ml/models/train.ts';
import { encodeAll } from '../../../src/ml/sae/codes.ts';
import { trainSae } from '../../../src/ml/sae/train.ts';

/**
 * End to end on planted truth: MF → SAE → analyseNeurons must find, for every planted genre, a neuron
 * whose automatic label names that genre and whose purity@20 for it is ≥ 0.9 — checked here against the
 * planted genres themselves, not against the labeller's own bookkeeping.
 */
describe('concept discovery on synthetic data with planted genres', () => {
  it('labels one neuron per planted genre with purity@20 ≥ 0.9', () => {
    const dataset = generateSynthetic({ users: 800, items: 400, genres: 8, seed: 1 });
    const train = dataset.interactions;
    const mf = trainRecommender('mf', train, { dim: 16, seed: 0, mf: { biases: false } });
    const latents = 64;
    const pair = trainSae(
      {
        userEmb: mf.params.userEmb,
        itemEmb: mf.params.itemEmb,
        nUsers: mf.nUsers,
        nItems: mf.nItems,
        dim: mf.dim,
        scorer: scorerFor(mf),
        train,
      },
      { latents, k: 4, epochs: 10, seed: 0 },
    );
    const { userCodes, itemCodes } = encodeAll(
      pair,
      mf.params.userEmb,
      mf.params.itemEmb,
      mf.nUsers,
      mf.nItems,
    );
    const { neurons, concepts } = analyseNeurons({
      dataset,
      itemCodes,
      userCodes,
      latents,
      popularity: itemPopularity(train),
    });

    const planted = dataset.planted!;
    const genreOf = (name: string): number => planted.genreNames.indexOf(name);
    const carries = (item: number, g: number): boolean => planted.itemGenres[item].includes(g);
    const found: Record<string, number> = {};
    for (const name of planted.genreNames) {
      const g = genreOf(name);
      let best = 0;
      for (const n of neurons) {
        if (n.concept !== name) continue; // the label must name the genre
        // The neuron's top 20 recomputed from the codes (raw activation, active items, ties → lower index)
        // and scored against the planted truth.
        const top20 = Array.from({ length: dataset.items.ids.length }, (_, i) => i)
          .filter((i) => itemCodes[i * latents + n.index] > 0)
          .sort((a, b) => itemCodes[b * latents + n.index] - itemCodes[a * latents + n.index] || a - b)
          .slice(0, 20);
        expect(n.topItems.slice(0, 20)).toEqual(top20);
        const purity = top20.filter((i) => carries(i, g)).length / 20;
        expect(purity).toBeCloseTo(n.purity20, 12);
        best = Math.max(best, purity);
      }
      found[name] = best;
    }
    for (const name of planted.genreNames) expect(found[name], `genre ${name}`).toBeGreaterThanOrEqual(0.9);
    for (const c of concepts) expect(c.purity20, c.concept).toBeGreaterThanOrEqual(0.9);
  });
});
