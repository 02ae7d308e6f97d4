import { describe, expect, it } from 'vitest';
import {
  activationDensity,
  decadeOf,
  decadeShareAtK,
  neuronActivations,
  popularityPercentileAtK,
  popularityRanks,
  purityAtK,
  topActivatingItems,
} from '../../../src/ml/eval/concept-metrics.ts';

describe('concept metrics', () => {
  it('extracts a neuron column from row-major codes', () => {
    const codes = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3 items × 2 latents
    expect(Array.from(neuronActivations(codes, 2, 1))).toEqual([2, 4, 6]);
  });

  it('ranks top items by raw activation, ties to the lower index, inactive items dropped', () => {
    const act = Float32Array.from([0.5, 0, 2, 0.5, 1, 0]);
    expect(Array.from(topActivatingItems(act, 3))).toEqual([2, 4, 0]);
    expect(Array.from(topActivatingItems(act, 10))).toEqual([2, 4, 0, 3]);
  });

  it('purity divides by K so short lists are penalised', () => {
    const horror = new Set([1, 3, 5]);
    expect(purityAtK([1, 3, 2, 5], 4, (i) => horror.has(i))).toBe(0.75);
    expect(purityAtK([1, 3, 2, 5], 2, (i) => horror.has(i))).toBe(1);
    expect(purityAtK([1, 3], 4, (i) => horror.has(i))).toBe(0.5);
  });

  it('popularity ranks: 0 = most users, ties share the average rank', () => {
    const ranks = popularityRanks(Int32Array.from([5, 10, 7, 7, 1]));
    expect(Array.from(ranks)).toEqual([3, 0, 1.5, 1.5, 4]);
  });

  it('popularity percentile = mean rank / nItems × 100', () => {
    const ranks = popularityRanks(Int32Array.from([5, 10, 7, 7, 1])); // [3,0,1.5,1.5,4]
    expect(popularityPercentileAtK([1, 2], 2, ranks)).toBeCloseTo(((0 + 1.5) / 2 / 5) * 100, 10);
    expect(popularityPercentileAtK([4, 0, 1], 2, ranks)).toBeCloseTo(((4 + 3) / 2 / 5) * 100, 10);
    expect(popularityPercentileAtK([], 2, ranks)).toBe(100);
    // A list shorter than K averages over the items it has (purity, not this, penalises short lists).
    expect(popularityPercentileAtK([1, 2], 4, ranks)).toBeCloseTo(((0 + 1.5) / 2 / 5) * 100, 10);
  });

  it('the top-50 floor on a 3706-item catalogue is 0.66 %', () => {
    const pop = Int32Array.from({ length: 3706 }, (_, i) => 5000 - i);
    const top = Array.from({ length: 50 }, (_, i) => i);
    expect(popularityPercentileAtK(top, 50, popularityRanks(pop))).toBeCloseTo(0.661, 3);
  });

  it('decade share counts unknown years and missing slots against the dominant decade', () => {
    const years = Int32Array.from([1994, 1999, 1985, 0, 1990, 1987]);
    expect(decadeOf(1999)).toBe(1990);
    expect(decadeOf(0)).toBeNull();
    expect(decadeShareAtK([0, 1, 2, 3], 4, years)).toEqual({ decade: 1990, share: 0.5 });
    expect(decadeShareAtK([0, 2, 3, 5], 4, years)).toEqual({ decade: 1980, share: 0.5 });
    expect(decadeShareAtK([0, 2], 4, years)).toEqual({ decade: 1980, share: 0.25 }); // tie → earlier decade
    expect(decadeShareAtK([3], 1, years)).toEqual({ decade: null, share: 0 });
  });

  it('density is the share of active entries', () => {
    expect(activationDensity(Float32Array.from([0, 1, 0, 2]))).toBe(0.5);
  });
});
