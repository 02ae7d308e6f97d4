import { MlError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { buildCsr } from './csr.ts';
import { idMapFromIds } from './idmap.ts';
import { IntList } from './scan.ts';
import type { Dataset } from './types.ts';

/**
 * A seeded synthetic catalogue with planted ground truth, strong enough that an MF embedding plus an
 * SAE recovers one neuron per genre. Items get 1–2 genres (a balanced primary genre, a second one
 * with probability `secondGenreProb`), a decade and a Zipf popularity rank. Each user has 1 to
 * `favouriteGenres` favourite genres and a preferred decade; a fraction `favouriteShare` of a user's
 * interactions comes from the favourite genres (of which `eraShare` from the preferred decade), the
 * rest from the whole catalogue; every draw is weighted by Zipf popularity.
 */
export interface SyntheticParams {
  users: number;
  items: number;
  genres: number;
  /** Mean interactions per user (log-normal spread, at least `minInteractions`). */
  interactionsPerUser: number;
  minInteractions: number;
  favouriteGenres: number;
  favouriteShare: number;
  eraShare: number;
  secondGenreProb: number;
  /** Zipf exponent of item popularity: weight of rank r is 1 / (r + 1)^zipf. */
  zipf: number;
  firstDecade: number;
  decades: number;
  seed: number;
}

export const SYNTHETIC_DEFAULTS: SyntheticParams = {
  users: 1500,
  items: 600,
  genres: 10,
  interactionsPerUser: 48,
  minInteractions: 15,
  favouriteGenres: 3,
  favouriteShare: 0.85,
  eraShare: 0.3,
  secondGenreProb: 0.25,
  zipf: 0.8,
  firstDecade: 1950,
  decades: 7,
  seed: 0,
};

export const GENRE_NAMES = [
  'Action',
  'Comedy',
  'Drama',
  'Horror',
  'Romance',
  'Sci-Fi',
  'Documentary',
  'Animation',
  'Thriller',
  'Western',
  'Musical',
  'Crime',
];

export function validateSyntheticParams(p: SyntheticParams): void {
  const check = (field: keyof SyntheticParams, ok: boolean, want: string): void => {
    if (!ok || !Number.isFinite(p[field]))
      throw new MlError('BAD_CONFIG', `synthetic ${field} = ${p[field]}: must be ${want}`, field);
  };
  const int = (v: number): boolean => Number.isInteger(v);
  // Upper bounds keep the generator's arrays allocatable (users × interactions per user float32s).
  check('users', int(p.users) && p.users >= 1 && p.users <= 1_000_000, 'an integer in [1, 1 000 000]');
  check('items', int(p.items) && p.items >= 2 && p.items <= 1_000_000, 'an integer in [2, 1 000 000]');
  check('genres', int(p.genres) && p.genres >= 1 && p.genres <= p.items, 'an integer in [1, items]');
  check(
    'interactionsPerUser',
    p.interactionsPerUser >= 1 && p.interactionsPerUser <= 100_000,
    'in [1, 100 000]',
  );
  check(
    'interactionsPerUser',
    p.users * p.interactionsPerUser <= 100_000_000,
    'at most 100 000 000 in all (users × interactionsPerUser)',
  );
  check('minInteractions', int(p.minInteractions) && p.minInteractions >= 1, 'an integer ≥ 1');
  check(
    'favouriteGenres',
    int(p.favouriteGenres) && p.favouriteGenres >= 1 && p.favouriteGenres <= p.genres,
    'an integer in [1, genres]',
  );
  check('favouriteShare', p.favouriteShare >= 0 && p.favouriteShare <= 1, 'in [0, 1]');
  check('eraShare', p.eraShare >= 0 && p.eraShare <= 1, 'in [0, 1]');
  check('secondGenreProb', p.secondGenreProb >= 0 && p.secondGenreProb <= 1, 'in [0, 1]');
  check('zipf', p.zipf >= 0, '≥ 0');
  check(
    'firstDecade',
    int(p.firstDecade) && p.firstDecade % 10 === 0 && p.firstDecade >= 1000 && p.firstDecade <= 3000,
    'a multiple of 10 in [1000, 3000]',
  );
  check('decades', int(p.decades) && p.decades >= 1 && p.decades <= 100, 'an integer in [1, 100]');
  // The generator keeps a list per genre × decade.
  check(
    'decades',
    p.genres * p.decades <= 100_000,
    'at most 100 000 genre × decade cells (genres × decades)',
  );
  check('seed', int(p.seed) && p.seed >= 0 && p.seed < 2 ** 32, 'an integer in [0, 2^32)');
}

/** Weighted sampling over a fixed item list by binary search in its cumulative weights. */
class WeightedItems {
  readonly items: Int32Array;
  private readonly cum: Float64Array;
  constructor(items: number[], weight: Float64Array) {
    this.items = Int32Array.from(items);
    this.cum = new Float64Array(items.length);
    let s = 0;
    for (let k = 0; k < items.length; k++) {
      s += weight[items[k]];
      this.cum[k] = s;
    }
  }
  get size(): number {
    return this.items.length;
  }
  draw(rng: Rng): number {
    const x = rng.nextFloat() * this.cum[this.cum.length - 1];
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }
  /** A weighted draw among items not marked in `taken`; undefined when all are taken. */
  drawExcluding(rng: Rng, taken: Uint8Array): number | undefined {
    for (let t = 0; t < 32; t++) {
      const i = this.draw(rng);
      if (!taken[i]) return i;
    }
    const free = Array.from(this.items).filter((i) => !taken[i]);
    return free.length === 0 ? undefined : free[rng.nextInt(free.length)];
  }
}

/**
 * The defaults completed by what was given: defaults that depend on other parameters (at most as many
 * genres as items, favourite genres at most the genres) follow them, so `items=5` alone is valid.
 */
export function syntheticParams(params: Partial<SyntheticParams> = {}): SyntheticParams {
  const p: SyntheticParams = { ...SYNTHETIC_DEFAULTS, ...params };
  if (params.genres === undefined) p.genres = Math.min(p.genres, Math.max(1, p.items));
  if (params.favouriteGenres === undefined) p.favouriteGenres = Math.min(p.favouriteGenres, p.genres);
  return p;
}

export function generateSynthetic(params: Partial<SyntheticParams> = {}): Dataset {
  const p = syntheticParams(params);
  validateSyntheticParams(p);
  const rng = new Rng(p.seed);
  const itemRng = rng.fork();
  const userRng = rng.fork();
  const drawRng = rng.fork();
  const nI = p.items;
  const nG = p.genres;
  const genreNames = Array.from({ length: nG }, (_, g) => GENRE_NAMES[g] ?? `Genre${g + 1}`);

  // Items: balanced primary genre, optional second genre, decade, popularity rank.
  const primary = itemRng.shuffle(Int32Array.from({ length: nI }, (_, i) => i % nG));
  const itemGenres: Int32Array[] = [];
  for (let i = 0; i < nI; i++) {
    const gs = [primary[i]];
    if (nG > 1 && itemRng.nextFloat() < p.secondGenreProb) {
      const second = (primary[i] + 1 + itemRng.nextInt(nG - 1)) % nG;
      gs.push(second);
    }
    itemGenres.push(Int32Array.from(gs));
  }
  const itemEra = new Int32Array(nI);
  const itemYears = new Int32Array(nI);
  for (let i = 0; i < nI; i++) {
    itemEra[i] = p.firstDecade + 10 * itemRng.nextInt(p.decades);
    itemYears[i] = itemEra[i] + itemRng.nextInt(10);
  }
  const byRank = itemRng.shuffle(Int32Array.from({ length: nI }, (_, i) => i));
  const itemPopularityRank = new Int32Array(nI);
  for (let r = 0; r < nI; r++) itemPopularityRank[byRank[r]] = r;
  const weight = new Float64Array(nI);
  for (let i = 0; i < nI; i++) weight[i] = 1 / (itemPopularityRank[i] + 1) ** p.zipf;

  const all = new WeightedItems(
    Array.from({ length: nI }, (_, i) => i),
    weight,
  );
  const genreMembers: number[][] = Array.from({ length: nG }, () => []);
  const cellMembers: number[][] = Array.from({ length: nG * p.decades }, () => []);
  for (let i = 0; i < nI; i++)
    for (const g of itemGenres[i]) {
      genreMembers[g].push(i);
      cellMembers[g * p.decades + (itemEra[i] - p.firstDecade) / 10].push(i);
    }
  const byGenre = genreMembers.map((m) => new WeightedItems(m, weight));
  const byCell = cellMembers.map((m) => new WeightedItems(m, weight));

  // Users: favourite genres, preferred decade, interactions.
  const nU = p.users;
  const userGenres: Int32Array[] = [];
  const userEra = new Int32Array(nU);
  const rows = new IntList(nU * p.interactionsPerUser * 1.2);
  const cols = new IntList(nU * p.interactionsPerUser * 1.2);
  const taken = new Uint8Array(nI);
  const picked: number[] = [];
  const genreOrder = Int32Array.from({ length: nG }, (_, g) => g);
  for (let u = 0; u < nU; u++) {
    userRng.shuffle(genreOrder);
    const fav = genreOrder.slice(0, 1 + userRng.nextInt(p.favouriteGenres));
    userGenres.push(Int32Array.from(fav).sort());
    const eraIndex = userRng.nextInt(p.decades);
    userEra[u] = p.firstDecade + 10 * eraIndex;
    const target = Math.min(
      Math.floor(nI / 2),
      Math.max(
        p.minInteractions,
        Math.round(p.interactionsPerUser * Math.exp(0.5 * userRng.normal() - 0.125)),
      ),
    );
    picked.length = 0;
    while (picked.length < target) {
      let pool = all;
      if (drawRng.nextFloat() < p.favouriteShare) {
        const g = fav[drawRng.nextInt(fav.length)];
        const cell = byCell[g * p.decades + eraIndex];
        pool = cell.size > 0 && drawRng.nextFloat() < p.eraShare ? cell : byGenre[g];
      }
      // Redraw duplicates from the same pool, so saturation does not tilt users off their genres.
      const i =
        pool.drawExcluding(drawRng, taken) ??
        byGenre[fav[0]].drawExcluding(drawRng, taken) ??
        all.drawExcluding(drawRng, taken);
      if (i === undefined) break;
      taken[i] = 1;
      picked.push(i);
    }
    for (const i of picked) {
      taken[i] = 0;
      rows.push(u);
      cols.push(i);
    }
  }
  const interactions = buildCsr(rows.toArray(), cols.toArray(), nU, nI);

  const pad = String(nI).length;
  const itemIds = Array.from({ length: nI }, (_, i) => `i${String(i + 1).padStart(pad, '0')}`);
  const userIds = Array.from({ length: nU }, (_, u) => `u${u + 1}`);
  const itemTags = itemGenres.map((gs) => Array.from(gs, (g) => genreNames[g]));
  const itemTitles = itemIds.map((id, i) => `${itemTags[i].join('/')} ${id.slice(1)} (${itemYears[i]})`);
  return {
    name: 'synthetic',
    users: idMapFromIds(userIds),
    items: idMapFromIds(itemIds),
    interactions,
    itemTitles,
    itemTags,
    itemYears,
    planted: { itemGenres, genreNames, itemEra, itemPopularityRank, userGenres, userEra },
  };
}
