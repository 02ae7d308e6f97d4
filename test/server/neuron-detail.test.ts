import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/ml/pipeline/run.ts';
import { neuronDetail } from '../../src/server/services/neurons.ts';

describe('neuronDetail', async () => {
  // 16 latents, 4 active per item over 300 items: most neurons fire on more than the 50 the analysis keeps.
  const { bundle } = await runPipeline('synthetic:users=300,items=300,seed=3', {
    model: 'mf',
    seed: 0,
    sae: { latents: 16, k: 4, matryoshka: [8, 16], epochs: 5 },
    fidelitySamples: 0,
  });
  const nItems = bundle.dataset.items.ids.length;

  it('lists past the analysis top 50 when asked for more, in activation order', () => {
    const wide = [...bundle.neurons].sort((a, b) => b.itemDensity - a.itemDensity)[0];
    const active = Math.round(wide.itemDensity * nItems);
    expect(active).toBeGreaterThan(60);
    const body = neuronDetail(bundle, wide.index, 100);
    expect(body.topItems).toHaveLength(Math.min(100, active));
    const values = body.topItems.map((i) => i.value);
    expect([...values].sort((a, b) => b - a)).toEqual(values);
    expect(values.every((v) => v > 0)).toBe(true);
    expect(body.topItems.slice(0, 50).map((i) => i.itemId)).toEqual(
      wide.topItems.slice(0, 50).map((i) => bundle.dataset.items.ids[i]),
    );
    expect(neuronDetail(bundle, wide.index, 10).topItems).toEqual(body.topItems.slice(0, 10));
  });

  it('rounds every value to 6 decimals, as the other model-derived numbers', () => {
    const body = neuronDetail(bundle, bundle.neurons[0].index, 20);
    const values = [...body.topItems, ...body.topUsers, ...body.raisesMost].map((x) => x.value);
    expect(values.length).toBeGreaterThan(20);
    for (const v of values) expect(Math.round(v * 1e6) / 1e6).toBe(v);
  });
});
