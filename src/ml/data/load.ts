import { MlError } from '../core/errors.ts';
import { loadCsv } from './csv.ts';
import { lastFmListensPath, loadLastFm } from './lastfm.ts';
import { loadMovieLens, movieLensRatingsPath } from './movielens.ts';
import { fileExists } from './scan.ts';
import { type DataSpec, dataSpecPaths, parseDataSpec } from './spec.ts';
import { generateSynthetic, syntheticParams, validateSyntheticParams } from './synthetic.ts';
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

/**
 * What can be checked of a spec without loading it: its syntax, synthetic parameters, and that the
 * files it names (or the interactions file of a dataset directory) exist; the loaders check their contents. Throws the loader's MlError.
 * Lets a job request fail at once instead of in its worker.
 */
export function checkDataSpec(spec: string): DataSpec {
  const s = parseDataSpec(spec);
  switch (s.kind) {
    case 'movielens-1m':
      movieLensRatingsPath(s.dir);
      break;
    case 'lastfm-hetrec':
      lastFmListensPath(s.dir);
      break;
    case 'csv':
      for (const path of dataSpecPaths(s))
        if (!fileExists(path)) throw new MlError('BAD_FILE', `${path}: file not found`, path);
      break;
    case 'synthetic':
      validateSyntheticParams(syntheticParams(s.params));
      break;
  }
  return s;
}
