/**
 * Recommender models: `{ kind, config, params }` plus pure functions. Embeddings are the part the SAE
 * reads and steering edits; everything else is frozen scorer state.
 */

export interface MfParams {
  userEmb: Float32Array; // [nUsers × dim], row-major
  itemEmb: Float32Array; // [nItems × dim], row-major
  userBias: Float32Array; // [nUsers]
  itemBias: Float32Array; // [nItems]
  globalBias: Float32Array; // [1]
}

export interface MfModel {
  kind: 'mf';
  nUsers: number;
  nItems: number;
  dim: number;
  params: MfParams;
}

/** One dense layer: y = W x + b, W row-major [out × in]. */
export interface DenseLayer {
  inDim: number;
  outDim: number;
  W: Float32Array; // [outDim × inDim]
  b: Float32Array; // [outDim]
}

export interface NcfParams {
  userEmb: Float32Array; // [nUsers × dim]
  itemEmb: Float32Array; // [nItems × dim]
  /** concat(u, i) [2·dim] → ReLU hidden layers (default 64 → 32 → 16) → 1 logit; score = sigmoid(logit). */
  layers: DenseLayer[];
}

export interface NcfModel {
  kind: 'ncf';
  nUsers: number;
  nItems: number;
  dim: number;
  hidden: number[]; // e.g. [64, 32, 16]
  params: NcfParams;
}

export type Recommender = MfModel | NcfModel;

/**
 * A frozen recommender seen as a function of (user vector, item vector). The SAE's prediction-aware
 * loss and steering call this; it must not allocate per call on the hot path.
 *
 * The score is the model's ranking score: dot product + biases for MF, the pre-sigmoid logit for NCF
 * (sigmoid is monotone, so rankings are identical, and logits do not saturate the MSE gradient).
 */
export interface PairScorer {
  readonly dim: number;
  /** Score of (user, item) given their embedding vectors; `user`/`item` index per-row state (biases). */
  score(user: number, item: number, uVec: Float32Array, iVec: Float32Array): number;
  /**
   * Returns the score and accumulates dScore·∂score/∂uVec into gU and dScore·∂score/∂iVec into gI.
   * gU, gI: Float32Array [dim].
   */
  scoreWithGrad(
    user: number,
    item: number,
    uVec: Float32Array,
    iVec: Float32Array,
    dScore: number,
    gU: Float32Array,
    gI: Float32Array,
  ): number;
  /** Scores of one user vector against every row of itemEmb [nItems × dim] into out [nItems]. */
  scoreAll(user: number, uVec: Float32Array, itemEmb: Float32Array, out: Float32Array): void;
}
