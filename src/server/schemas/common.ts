import { type TSchema, Type } from 'typebox';

/** Every error body: status, machine-readable code, reason phrase, message, and the field it is about. */
export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Machine-readable code, e.g. UNKNOWN_USER, VALIDATION, FORBIDDEN' }),
    error: Type.String({ description: 'HTTP reason phrase' }),
    message: Type.String({ description: 'What went wrong, naming the field or id' }),
    field: Type.Optional(
      Type.String({ description: 'The request field the error is about, e.g. body.name' }),
    ),
  },
  { $id: 'Error', title: 'Error' },
);

/** Longest path parameter the router takes (ids in paths may be up to 200 characters); longer is a 414. */
export const MAX_PARAM_LENGTH = 256;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the message names the field)',
  401: 'Missing API key',
  403: 'API key not accepted',
  404: 'Unknown id (the message names it)',
  409: 'Conflict with the current state',
  413: 'Request body too large',
  414: `A path parameter is longer than ${MAX_PARAM_LENGTH} characters`,
  415: 'Body is not JSON (Content-Type must be application/json)',
  429: 'Rate limit exceeded',
  503: 'No model is active yet',
  507: "The database's disk is full: nothing was saved",
};

/**
 * Response schemas for the given error statuses, all referencing the one error body (registered once
 * with `addSchema`, so the OpenAPI document lists it once under components).
 */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = Type.Ref('Error', { description: ERROR_DESCRIPTIONS[s] ?? 'Error' });
  return out;
}

/**
 * Errors Fastify itself raises before a handler runs, by route shape: 414 for a route with path
 * parameters, 413 and 415 for any method that may carry a body (and 507, a write the full disk refused). Added to every route's documented
 * responses by `documentFrameworkErrors` (src/server/errors.ts), so no route list can forget them.
 */
export function frameworkErrorStatuses(method: string, url: string): number[] {
  const out: number[] = [];
  if (url.includes(':')) out.push(414);
  if (method !== 'GET' && method !== 'HEAD') out.push(413, 415, 507);
  return out;
}

/** Errors any read of the active model can return. */
export const READ_ERRORS = [400, 401, 403, 404, 429, 503] as const;
/** Errors any mutation can return (with the framework's 413/414/415, added per route). */
export const WRITE_ERRORS = [400, 401, 403, 404, 409, 429] as const;

/**
 * The query string of an operation that takes no parameters: an unknown one is refused naming it, as on
 * the routes that take some (`DELETE /v1/models/3?dryRun=true` must not delete).
 */
export const NoQuery = Type.Object({}, { additionalProperties: false });

export const Timestamp = Type.String({ description: 'ISO-8601 UTC timestamp' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Metrics = Type.Record(Type.String(), Type.Unknown(), { description: 'Metrics by section' });

/** Largest id (job, model version, policy version) and neuron index the API takes: a 32-bit integer. */
export const MAX_ID = 2_147_483_647;
/** Largest seed: seeds are 32-bit unsigned (src/ml/core/rng.ts), so a larger one would alias a smaller. */
export const MAX_SEED = 4_294_967_295;

/** A list's starting row: bounded so that SQLite binds it as an integer (1e20 would bind as a REAL). */
export const Offset = Type.Integer({ minimum: 0, maximum: MAX_ID, default: 0 });

/** Longest id a list parameter may hold (each id, after splitting on commas). */
export const MAX_ID_LENGTH = 200;
/** Most ids a list query parameter (`exclude`, `policy`) may hold, repeated or comma-separated. */
export const MAX_LIST_IDS = 500;

/**
 * A list of ids in a query string: the parameter repeated, or comma-separated, or both. The limits apply
 * to the ids after splitting (`splitIds`, src/server/services/lookup.ts), so the raw values carry no
 * length limit of their own (the URL is bounded by Node's 16 KB header limit).
 */
export const IdList = (description: string) =>
  Type.Array(Type.String(), {
    maxItems: MAX_LIST_IDS,
    description:
      `${description} (repeat the parameter or separate with commas; at most ${MAX_LIST_IDS} ids, ` +
      `each at most ${MAX_ID_LENGTH} characters)`,
  });

/** List-agreement numbers, described once for every schema that returns them. */
export const RboNumber = Type.Number({
  description:
    "Rank-biased overlap (p = 0.9) truncated at the lists' length n (k, unless fewer unseen items remain), " +
    "Σ_{d=1..n} 0.9^(d−1)·0.1·|A∩B|_d / d, as the paper's code computes it (not extrapolated): identical " +
    'lists score 1 − 0.9^n (0.651 for 10 items), disjoint ones 0',
});
export const KendallNumber = Type.Number({
  description:
    'Kendall τ-b over the union of the two lists, an item missing from a list ranked k + 1 there (−1 to 1)',
});
