import type { NeuronInfo } from './types.ts';

/**
 * A NeuronInfo with no evidence (no label, zero purities and densities, no top items), with `over`
 * applied: the one place that spells out every field, for dead or unanalysed latents and test fixtures.
 */
export function blankNeuron(index: number, over: Partial<NeuronInfo> = {}): NeuronInfo {
  return {
    index,
    label: '',
    kind: 'unlabelled',
    concept: null,
    purity10: 0,
    purity20: 0,
    purity50: 0,
    popPct20: 0,
    popPct50: 0,
    decade: null,
    decadeShare50: 0,
    itemDensity: 0,
    userDensity: 0,
    topItems: [],
    evidence: '',
    ...over,
  };
}
