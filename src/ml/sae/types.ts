/**
 * Sparse autoencoder over recommender embeddings: linear encoder with bias + ReLU (or TopK), tied
 * decoder (Wᵀ), optional pre-bias and input normalisation, optional Matryoshka prefixes.
 *
 *   x̂ = (x − bPre) / inputScale
 *   z = act(W x̂ + bEnc)                  z: [latents]   (ReLU; TopK keeps the k largest; zero ≤ threshold)
 *   x̃ = inputScale · (Wᵀ z) + bPre       x̃: [inputDim]
 */
export interface SaeConfig {
  inputDim: number;
  latents: number;
  activation: 'relu' | 'topk';
  /** Active latents per row when activation = 'topk'. */
  k?: number;
  /** Matryoshka prefix sizes m1 < … < latents (the last equals `latents`); absent = no nesting. */
  matryoshka?: number[];
  /**
   * Activations ≤ threshold are zeroed (a JumpReLU-style global threshold; absent = 0). A BatchTopK SAE
   * is trained with a per-batch budget of k active latents per row on average and served with this
   * threshold, calibrated so the mean item L0 equals k (`k` then caps each row).
   */
  threshold?: number;
  /**
   * Codes by non-negative matching pursuit over the tied dictionary instead of the encoder (pursuit.ts);
   * absent = the encoder. Set after training (train.ts, refine.ts); the encoder still picks the pool.
   */
  pursuit?: PursuitConfig;
}

export interface PursuitConfig {
  /** Atoms per code (at most). */
  k: number;
  /** Candidates: the encoder's `pool` strongest latents of the row; 0 = every latent. */
  pool: number;
}

export interface SaeParams {
  W: Float32Array; // [latents × inputDim], row j = neuron j's encoder row = its decoder direction
  bEnc: Float32Array; // [latents]
  bPre: Float32Array; // [inputDim], zeros when pre-bias is off
  inputScale: Float32Array; // [1], 1 when input normalisation is off
}

export interface Sae {
  kind: 'sae';
  config: SaeConfig;
  params: SaeParams;
}

/** The SAE(s) for one recommender: one shared by users and items (as the paper) or one per side. */
export interface SaePair {
  shared: boolean;
  user: Sae;
  /**
   * When shared: the same object as `user`, or (when user rows keep a different TopK k) an object with
   * its own config but the very same `params` arrays. Encode users with `user`, items with `item`.
   */
  item: Sae;
}
