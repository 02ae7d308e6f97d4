import { describe, expect, it } from 'vitest';
import { matryoshkaHierarchy } from '../../../src/ml/concepts/hierarchy.ts';
import { blankNeuron } from '../../../src/ml/concepts/neuron.ts';
import type { NeuronInfo } from '../../../src/ml/concepts/types.ts';

const info = (index: number, label: string, kind: NeuronInfo['kind'] = 'concept'): NeuronInfo =>
  blankNeuron(index, { label, kind });

describe('matryoshkaHierarchy', () => {
  // 6 items × 5 latents; coarse = 2 (neurons 0 "Horror", 1 "Comedy").
  // Neuron 2 is active on items 0,1,2: neuron 0 on 0,1 (2/3), neuron 1 on 2 (1/3) → parent 0.
  // Neuron 3 is active on items 3,4: neuron 1 on both → parent 1 (co-activation 1).
  // Neuron 4 is active on item 5 only, where no coarse neuron fires → orphan.
  const rows = [
    [1, 0, 1, 0, 0],
    [1, 0, 1, 0, 0],
    [0, 1, 1, 0, 0],
    [0, 1, 0, 1, 0],
    [0, 1, 0, 1, 0],
    [0, 0, 0, 0, 1],
  ];
  const itemCodes = Float32Array.from(rows.flat());
  const neurons = [
    info(0, 'Horror'),
    info(1, 'Comedy'),
    info(2, '1980s Horror'),
    info(3, 'Romantic Comedy'),
    info(4, ''),
  ];

  it('assigns each fine neuron to the coarse neuron it co-activates with most', () => {
    const h = matryoshkaHierarchy({ itemCodes, latents: 5, coarse: 2, neurons });
    expect(h.nodes.map((n) => [n.neuron, n.children.map((c) => c.neuron)])).toEqual([
      [0, [2]],
      [1, [3]],
    ]);
    expect(h.nodes[0].children[0].coactivation).toBeCloseTo(2 / 3, 12);
    expect(h.nodes[1].children[0]).toMatchObject({ label: 'Romantic Comedy', coactivation: 1, cosine: null });
    expect(h.orphans).toEqual([4]);
  });

  it('breaks co-activation ties by decoder cosine and reports it', () => {
    // Neuron 2 co-activates 1/2 with each coarse neuron; its decoder direction is closer to neuron 1.
    const codes = Float32Array.from([1, 0, 1, 0, 1, 1].concat([0, 0, 0]));
    const decoder = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]); // 3 latents × 2 dims
    const h = matryoshkaHierarchy({
      itemCodes: codes,
      latents: 3,
      coarse: 2,
      neurons: [info(0, 'a'), info(1, 'b'), info(2, 'c')],
      decoder,
      inputDim: 2,
    });
    expect(h.nodes[1].children[0]).toMatchObject({ neuron: 2, coactivation: 0.5 });
    expect(h.nodes[1].children[0].cosine).toBeCloseTo(0.8, 6);
    expect(h.nodes[0].children).toEqual([]);
  });

  it('among coarse neurons that contain a fine one entirely, picks the most specific', () => {
    // Neuron 2 fires on item 0; coarse 0 fires on items 0–2, coarse 1 on items 0–1: both contain it.
    const codes = Float32Array.from([1, 1, 1, 1, 1, 0, 1, 0, 0]);
    const h = matryoshkaHierarchy({
      itemCodes: codes,
      latents: 3,
      coarse: 2,
      neurons: [info(0, 'a'), info(1, 'b'), info(2, 'c')],
    });
    expect(h.nodes[1].children.map((c) => [c.neuron, c.coactivation])).toEqual([[2, 1]]);
    expect(h.nodes[0].children).toEqual([]);
  });

  it('skips dead neurons', () => {
    const dead = [info(0, 'Horror'), info(1, '', 'dead'), info(2, 'x'), info(3, 'y', 'dead'), info(4, '')];
    const h = matryoshkaHierarchy({ itemCodes, latents: 5, coarse: 2, neurons: dead });
    expect(h.nodes.map((n) => n.neuron)).toEqual([0]);
    expect(h.nodes[0].children.map((c) => c.neuron)).toEqual([2]);
    expect(h.orphans).toEqual([4]);
  });
});
