import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactContributions, listedBefore, topPositions } from '../../../src/ml/explain/compact.ts';
import type { NeuronContribution } from '../../../src/ml/explain/types.ts';

describe('contribution lists', () => {
  it('list larger |value| first, ties to the lower neuron, the user side first', () => {
    expect(listedBefore(-0.5, 9, 'item', 0.4, 1, 'user')).toBe(true);
    expect(listedBefore(0.5, 2, 'item', -0.5, 3, 'item')).toBe(true);
    expect(listedBefore(0.5, 3, 'user', 0.5, 2, 'item')).toBe(true);
    expect(listedBefore(0.5, 2, 'item', 0.5, 2, 'item')).toBe(false); // strict
  });

  it('topPositions picks what a full sort puts first, and compact folds the rest exactly (property)', () => {
    const contribution = fc.record({
      neuron: fc.integer({ min: 0, max: 30 }),
      side: fc.constantFrom('user' as const, 'item' as const),
      value: fc.oneof(fc.constantFrom(0, 0.5, -0.5, 1), fc.double({ min: -3, max: 3, noNaN: true })),
    });
    fc.assert(
      fc.property(fc.array(contribution, { maxLength: 40 }), fc.integer({ min: 0, max: 12 }), (raw, topN) => {
        // distinct (side, neuron), as in an explanation
        const seen = new Set<string>();
        const all: NeuronContribution[] = raw
          .filter((c) => !seen.has(`${c.side}${c.neuron}`) && seen.add(`${c.side}${c.neuron}`))
          .map((c) => ({ ...c, label: '', activation: 1 }));
        const sorted = all
          .slice()
          .sort((a, b) => (listedBefore(a.value, a.neuron, a.side, b.value, b.neuron, b.side) ? -1 : 1));
        const order = topPositions(all.length, topN, (x, y) =>
          listedBefore(all[x].value, all[x].neuron, all[x].side, all[y].value, all[y].neuron, all[y].side),
        );
        expect(Array.from(order, (p) => all[p])).toEqual(sorted.slice(0, topN));
        const { top, other, total } = compactContributions(all, topN);
        expect(top).toEqual(sorted.slice(0, topN));
        expect(other).toBeCloseTo(
          sorted.slice(topN).reduce((s, c) => s + c.value, 0),
          12,
        );
        expect(total).toBeCloseTo(
          all.reduce((s, c) => s + c.value, 0),
          12,
        );
        if (topN >= all.length) expect(other).toBe(0);
      }),
    );
  });
});
