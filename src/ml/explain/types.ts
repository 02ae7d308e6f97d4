/** One SAE neuron's signed share of a score. */
export interface NeuronContribution {
  neuron: number;
  /** The neuron's concept label ("" when unlabelled). */
  label: string;
  /** Which code the neuron was read from. */
  side: 'user' | 'item';
  /** The neuron's activation in that code. */
  activation: number;
  /** Signed contribution to the score. */
  value: number;
}

/**
 * Why one item got its score, in SAE neurons. Invariant (tested):
 *   sum(top.value) + other + base + residual = score
 * up to float rounding (for NCF, `residual` also absorbs the integration error).
 */
export interface Explanation {
  method: 'mf-exact' | 'ncf-integrated-gradients';
  /** The score the recommender gave (MF: dot + biases; NCF: logit). */
  score: number;
  /** The largest contributions by |value|, strongest first. */
  top: NeuronContribution[];
  /** Sum of every contribution not in `top`. */
  other: number;
  /**
   * The part no neuron owns. MF: biases + pre-bias term (bPre·i against the scored vector of the other
   * side). NCF: the score at the baseline (every neuron of both codes at zero, reconstruction errors kept).
   */
  base: number;
  /**
   * score − (all contributions + base). MF: the explained side's reconstruction error seen through the
   * other side's vector, (u − ũ)·i; NCF: the integration error. Either sign.
   */
  residual: number;
  /**
   * Σ contributions / (score − base): the share of the score's move away from `base` that the neurons
   * account for (1 = complete). It differs from 1 by the residual's share, which can take either sign,
   * so it can exceed 1, and is unstable when the score is close to `base`. NCF adds the Riemann error of
   * the path integral (exact for a linear MLP).
   */
  completeness: number;
}

export interface ExplainOptions {
  /** How many contributions to list individually (default 5). */
  topN?: number;
}
