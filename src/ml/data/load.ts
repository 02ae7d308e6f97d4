import { loadCsv } from './csv.ts';
import { loadLastFm } from './lastfm.ts';
import { loadMovieLens } from './movielens.ts';
import { type DataSpec, parseDataSpec } from './spec.ts';
import { generateSynthetic } from './synthetic.ts';
import type { Dataset } from './types.ts';

/** Loads (or generates) the dataset a spec names; see spec.ts for the syntax. Synchronous. */
export function loadDataset(spec: string | DataSpec): Dataset {
  const s = typeof spec === 'string' ? parseDataSpec(spec) : spec;
  switch (s.kind) {
    case 'movielens-1m':
      return loadMovieLens(s.dir);
    case 'lastfm-hetrec':
      return loadLastFm(s.dir, s.options);
    case 'csv':
      return loadCsv(s.interactions, s.items);
    case 'synthetic':
      return generateSynthetic(s.params);
  }
}
