import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { JobParamsError } from '../jobs/params.ts';
import { MlError, type MlErrorCode } from '../ml/core/errors.ts';
import { StoreError } from '../store/errors.ts';
import type { StoreErrorCode } from '../store/types.ts';

/** An error the API returns on purpose: status, machine-readable code, and the field it is about. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field?: string;
  constructor(statusCode: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
  }
}

export interface ErrorBody {
  statusCode: number;
  code: string;
  error: string;
  message: string;
  field?: string;
}

/** The one mapping from `src/ml` error codes to HTTP statuses. */
const ML_STATUS: Record<MlErrorCode, number> = {
  BAD_DATA_SPEC: 400,
  BAD_FILE: 400,
  BAD_ARTIFACT: 500,
  BAD_CONFIG: 400,
  UNKNOWN_USER: 404,
  UNKNOWN_ITEM: 404,
  UNKNOWN_NEURON: 404,
  UNKNOWN_CONCEPT: 404,
  BAD_POLICY: 400,
  DIVERGED: 422,
  OVER_MEMORY_BUDGET: 422,
  CANCELLED: 409,
};

/**
 * Job requests: BAD_JOB_PARAMS, or a more precise code — UNKNOWN_MODEL for a baseModelId naming no
 * version, OVER_MEMORY_BUDGET for a job this server cannot afford to run (the status of the same error
 * from a worker's check).
 */
const JOB_STATUS: Record<JobParamsError['code'], number> = {
  BAD_JOB_PARAMS: 400,
  UNKNOWN_MODEL: 400,
  OVER_MEMORY_BUDGET: ML_STATUS.OVER_MEMORY_BUDGET,
};

const STORE_STATUS: Record<StoreErrorCode, number> = {
  NOT_FOUND: 404,
  CONFLICT: 409,
  NOT_ACTIVATABLE: 409,
  CORRUPT_ARTIFACT: 500,
  MIGRATION_FAILED: 500,
  SCHEMA_TOO_NEW: 500,
  BAD_STATE: 409,
};

/** The status's standard reason phrase (Node's table), for the error body's `error`. */
export const reasonPhrase = (status: number): string =>
  STATUS_CODES[status] ?? (status >= 500 ? 'Error' : 'Bad Request');

/**
 * A request-body error: errors about what the client sent (a policy naming an unknown concept) are 400s
 * even when the same code in a URL would be a 404. The MlError's field (already prefixed by the caller)
 * is kept; `defaultField` names the body part otherwise.
 */
export function asBodyError(err: unknown, defaultField = 'body'): unknown {
  if (err instanceof MlError) {
    const status = ML_STATUS[err.code] >= 500 ? 500 : 400;
    const field = err.field ?? defaultField;
    const message = err.message.includes(field) ? err.message : `${field}: ${err.message}`;
    return new ApiError(status, err.code, message, field);
  }
  return err;
}

/** Maps any thrown value to a status and a body that never carries a stack trace. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ApiError) return body(err.statusCode, err.code, err.message, err.field);
  if (err instanceof MlError) return body(ML_STATUS[err.code] ?? 500, err.code, err.message, err.field);
  if (err instanceof JobParamsError) {
    const field = err.field === 'type' ? 'body.type' : `body.params.${err.field}`;
    // The message names the field as the error body does (body.params.dim, not params.dim).
    return body(
      JOB_STATUS[err.code],
      err.code,
      err.field === 'type' ? err.message : `body.${err.message}`,
      field,
    );
  }
  if (err instanceof StoreError) {
    const status = STORE_STATUS[err.code] ?? 500;
    return status >= 500
      ? body(status, 'INTERNAL', 'Internal Server Error')
      : body(status, err.code, err.message, err.field ? `body.${err.field}` : undefined);
  }
  if (isDiskFull(err))
    return body(
      507,
      'STORAGE_FULL',
      "the database's disk is full: nothing was saved; retry once space is freed",
    );
  const fe = err as FastifyError & { validation?: ValidationItem[]; validationContext?: string };
  if (fe?.validation) {
    const first = fe.validation[0];
    const field = validationField(fe.validationContext ?? 'request', first);
    return body(400, 'VALIDATION', `${field} ${violation(fe.validation)}`, field);
  }
  const status = typeof fe?.statusCode === 'number' && fe.statusCode >= 400 ? fe.statusCode : 500;
  if (status >= 500) return body(status, 'INTERNAL', 'Internal Server Error');
  return body(status, fe.code ?? 'ERROR', fe.message ?? reasonPhrase(status), frameworkField(fe.code));
}

/** SQLite's SQLITE_FULL (better-sqlite3's SqliteError): the write's transaction was rolled back. */
function isDiskFull(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown } | null;
  return e?.name === 'SqliteError' && e.code === 'SQLITE_FULL';
}

/**
 * The request part each error Fastify raises before validation is about, so that these 4xx name their
 * field like every other: a body that is not JSON, too large, or of another type; a URL the router
 * cannot read (a path parameter past MAX_PARAM_LENGTH, a malformed percent-encoding).
 */
const FRAMEWORK_FIELDS: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'headers.content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'headers.content-length',
  FST_ERR_MAX_PARAM_LENGTH: 'url',
  FST_ERR_BAD_URL: 'url',
};

function frameworkField(code: string | undefined): string | undefined {
  return code !== undefined && Object.hasOwn(FRAMEWORK_FIELDS, code) ? FRAMEWORK_FIELDS[code] : undefined;
}

interface ValidationItem {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
  parentSchema?: { description?: string; properties?: Record<string, unknown> };
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

/**
 * What the first schema violation asks for, in the words a caller can act on: the allowed values of an
 * enum or of a union of constants (Ajv says only "must be equal to constant"), a pattern's description
 * rather than the regular expression, "an integer" rather than "integer".
 */
function violation(items: readonly ValidationItem[]): string {
  const first = items[0];
  const p = first?.params ?? {};
  const list = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');
  switch (first?.keyword) {
    case 'enum':
      return `must be one of ${list(p.allowedValues as unknown[])}`;
    case 'const': {
      // A union of literals fails once per branch (then anyOf): every value allowed at this path.
      const allowed = items
        .filter((v) => v.keyword === 'const' && v.instancePath === first.instancePath)
        .map((v) => v.params?.allowedValue);
      return allowed.length > 1 ? `must be one of ${list(allowed)}` : `must be ${list(allowed)}`;
    }
    case 'type': {
      // A union of types fails once per branch: every type allowed at this path.
      const types = items
        .filter((v) => v.keyword === 'type' && v.instancePath === first.instancePath)
        .flatMap((v) => String(v.params?.type).split(','));
      return `must be ${[...new Set(types)].map((t) => TYPE_WORDS[t] ?? t).join(' or ')}`;
    }
    case 'additionalProperties': {
      // Ajv says "must NOT have additional properties"; a caller with a typo needs the names that exist.
      const names = Object.keys(first.parentSchema?.properties ?? {});
      return names.length > 0
        ? `is unknown; known here: ${names.join(', ')}`
        : 'is unknown: nothing is expected here';
    }
    case 'pattern':
      return first.parentSchema?.description
        ? `must match: ${first.parentSchema.description}`
        : (first.message ?? 'is invalid');
  }
  return first?.message ?? 'is invalid';
}

/** `body.policy.strength`, `querystring.k`, `params.userId`: the field a schema violation is about. */
function validationField(context: string, v: ValidationItem | undefined): string {
  const parts = [context];
  const path = (v?.instancePath ?? '').split('/').filter(Boolean);
  parts.push(...path);
  const missing = v?.params?.missingProperty ?? v?.params?.additionalProperty;
  if (typeof missing === 'string') parts.push(missing);
  // Array positions as the other errors write them: body.policies[0].value.
  return parts.join('.').replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

function body(statusCode: number, code: string, message: string, field?: string): ErrorBody {
  const b: ErrorBody = { statusCode, code, error: reasonPhrase(statusCode), message };
  if (field) b.field = field;
  return b;
}

/** Installs the error handler (with installNotFoundHandler, the only place HTTP statuses for errors are chosen). */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const b = toErrorBody(err);
    // 503 NOT_READY (while the first model trains) and 507 STORAGE_FULL are states the service reports on
    // purpose: a warning, no stack per request. Any other 5xx is a bug: its stack goes to the log.
    if (b.statusCode === 503 || b.statusCode === 507) request.log.warn({ code: b.code }, b.message);
    else if (b.statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: b.code, field: b.field }, b.message);
    const headers = (err as { headers?: Record<string, string> }).headers;
    if (headers) reply.headers(headers);
    return reply.code(b.statusCode).send(b);
  });
}

/**
 * The 404 for unknown routes, as the same error body. Installed after the rate-limit plugin so that, when
 * the limit is on, a flood of unknown URLs is limited like any route.
 */
export function installNotFoundHandler(app: FastifyInstance, rateLimited: boolean): void {
  const limited = rateLimited ? { preHandler: app.rateLimit() } : {};
  app.setNotFoundHandler(limited, (request, reply) => {
    const b = body(404, 'NOT_FOUND', `route ${request.method} ${request.url.split('?')[0]} not found`);
    return reply.code(404).send(b);
  });
}
