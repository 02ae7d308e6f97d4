import { MlError } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';
import { hasInteraction } from './stats.ts';
import type { Csr } from './types.ts';

/**
 * Uniform sampling over a user's non-positives. Sparse rows use rejection sampling (a binary search
 * per try); rows with more than half the items positive map a uniform rank among the non-positives
 * to its item by walking the sorted row, so no row ever loops long.
 */
export class NegativeSampler {
  private readonly train: Csr;

  constructor(train: Csr) {
    this.train = train;
  }

  sample(user: number, rng: Rng): number {
    const { indptr, indices, cols } = this.train;
    const start = indptr[user];
    const deg = indptr[user + 1] - start;
    if (deg * 2 <= cols) {
      for (;;) {
        const i = rng.nextInt(cols);
        if (!hasInteraction(this.train, user, i)) return i;
      }
    }
    if (deg >= cols)
      throw new MlError('BAD_CONFIG', `user ${user} has interacted with every item: no negatives`, 'user');
    let r = rng.nextInt(cols - deg);
    // The r-th non-positive: shift past every positive at or below the running candidate.
    for (let p = start; p < start + deg && indices[p] <= r; p++) r++;
    return r;
  }

  /** Fills `out` with independent negatives for `user`. */
  fill(user: number, rng: Rng, out: Int32Array): Int32Array {
    for (let k = 0; k < out.length; k++) out[k] = this.sample(user, rng);
    return out;
  }
}
