import { join } from 'node:path';
import { MlError } from '../core/errors.ts';
import { LASTFM_DEFAULTS, LASTFM_FILES, type LastFmOptions } from './lastfm.ts';
import { MOVIELENS_FILES } from './movielens.ts';
import { SYNTHETIC_DEFAULTS, type SyntheticParams } from './synthetic.ts';

/**
 * Data-source specs, the one way every command and the API name a dataset:
 *
 *   movielens-1m:DIR                              (alias ml-1m:DIR)
 *   lastfm-hetrec:DIR[?minListeners=5&topTags=4]  (alias lastfm:DIR)
 *   csv:INTERACTIONS[,ITEMS]                      (paths; see csv.ts for the columns)
 *   synthetic[:key=value,key=value…]              e.g. synthetic:users=500,items=200,seed=3
 *
 * Parameters are numbers; `,` and `&` both separate them. Synthetic keys are the fields of
 * `SyntheticParams` (users, items, genres, interactionsPerUser, minInteractions, favouriteGenres,
 * favouriteShare, eraShare, secondGenreProb, zipf, firstDecade, decades, seed).
 */
export type DataSpec =
  | { kind: 'movielens-1m'; dir: string }
  | { kind: 'lastfm-hetrec'; dir: string; options: LastFmOptions }
  | { kind: 'csv'; interactions: string; items?: string }
  | { kind: 'synthetic'; params: Partial<SyntheticParams> };

export const DATA_SPEC_HELP =
  'movielens-1m:DIR | lastfm-hetrec:DIR[?minListeners=5&topTags=4] | csv:INTERACTIONS[,ITEMS] | synthetic[:users=1500,items=600,seed=0,…]';

export function parseDataSpec(spec: string): DataSpec {
  const fail = (why: string): never => {
    throw new MlError('BAD_DATA_SPEC', `data spec "${spec}": ${why} (expected ${DATA_SPEC_HELP})`, 'data');
  };
  const s = spec.trim();
  const colon = s.indexOf(':');
  const scheme = (colon < 0 ? s : s.slice(0, colon)).toLowerCase();
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  switch (scheme) {
    case 'movielens-1m':
    case 'ml-1m':
      if (rest === '') fail('missing directory');
      return { kind: 'movielens-1m', dir: rest };
    case 'lastfm-hetrec':
    case 'lastfm': {
      const q = rest.lastIndexOf('?');
      const dir = q < 0 ? rest : rest.slice(0, q);
      if (dir === '') fail('missing directory');
      const params = parseParams(q < 0 ? '' : rest.slice(q + 1), Object.keys(LASTFM_DEFAULTS), fail);
      const options = { ...LASTFM_DEFAULTS, ...params };
      for (const [k, v] of Object.entries(options))
        if (!Number.isInteger(v) || v < (k === 'topTags' ? 0 : 1))
          fail(`${k} must be an integer ≥ ${k === 'topTags' ? 0 : 1}`);
      return { kind: 'lastfm-hetrec', dir, options };
    }
    case 'csv': {
      const parts = rest.split(',');
      if (parts.length > 2 || parts[0] === '') fail('expected csv:INTERACTIONS[,ITEMS]');
      if (parts.length === 2 && parts[1] === '') fail('empty items path');
      return parts.length === 2
        ? { kind: 'csv', interactions: parts[0], items: parts[1] }
        : { kind: 'csv', interactions: parts[0] };
    }
    case 'synthetic':
      return {
        kind: 'synthetic',
        params: parseParams(rest, Object.keys(SYNTHETIC_DEFAULTS), fail) as Partial<SyntheticParams>,
      };
    default:
      return fail(scheme === '' ? 'empty spec' : `unknown source "${scheme}"`);
  }
}

function parseParams(text: string, allowed: string[], fail: (why: string) => never): Record<string, number> {
  const out: Record<string, number> = {};
  if (text.trim() === '') return out;
  for (const part of text.split(/[,&]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) fail(`parameter "${part}" is not key=value`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    if (!allowed.includes(key)) fail(`unknown parameter "${key}" (known: ${allowed.join(', ')})`);
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) fail(`parameter ${key}="${raw}" is not a number`);
    out[key] = value;
  }
  return out;
}

/** The files and directories a spec reads (none for synthetic data): a directory and each file read from it. */
export function dataSpecPaths(spec: DataSpec): string[] {
  switch (spec.kind) {
    case 'movielens-1m':
      return [
        spec.dir,
        ...Object.values(MOVIELENS_FILES)
          .flat()
          .map((f) => join(spec.dir, f)),
      ];
    case 'lastfm-hetrec':
      return [spec.dir, ...Object.values(LASTFM_FILES).map((f) => join(spec.dir, f))];
    case 'csv':
      return spec.items === undefined ? [spec.interactions] : [spec.interactions, spec.items];
    case 'synthetic':
      return [];
  }
}

/** The canonical text of a spec (parseDataSpec(formatDataSpec(s)) equals s). */
export function formatDataSpec(spec: DataSpec): string {
  switch (spec.kind) {
    case 'movielens-1m':
      return `movielens-1m:${spec.dir}`;
    case 'lastfm-hetrec':
      return `lastfm-hetrec:${spec.dir}?minListeners=${spec.options.minListeners}&topTags=${spec.options.topTags}`;
    case 'csv':
      return spec.items === undefined ? `csv:${spec.interactions}` : `csv:${spec.interactions},${spec.items}`;
    case 'synthetic': {
      const kv = Object.entries(spec.params).map(([k, v]) => `${k}=${v}`);
      return kv.length === 0 ? 'synthetic' : `synthetic:${kv.join(',')}`;
    }
  }
}
