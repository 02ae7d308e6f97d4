import type { Csr } from '../data/types.ts';
import type { UserScoreFn } from './ranking.ts';

/** Most-popular: every user gets the items' training popularity (users per item) as scores. */
export function mostPopularBaseline(train: Csr): UserScoreFn {
  const pop = new Float32Array(train.cols);
  const nnz = train.indptr[train.rows];
  for (let n = 0; n < nnz; n++) pop[train.indices[n]]++;
  return (_user, out) => out.set(pop);
}
