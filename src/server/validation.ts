import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type BuildValidator = NonNullable<
  NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']
>;
type RouteValidator = ReturnType<ReturnType<BuildValidator>>;
type AjvErrors = (RouteValidator & { errors?: unknown })['errors'];

/** A number as a URL writes it: no blanks, no hex; Ajv alone would read " " as 0 and "0x10" as 16. */
const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

// verbose: errors carry their schema, so a pattern's description can stand in for its regex (errors.ts).
const ajvOptions = { removeAdditional: false, allErrors: false, verbose: true } as const;

/**
 * Validators per request part. URL parts (path parameters, query string, headers) arrive as text, so
 * they are coerced to the schema's types (`coerceTypes: 'array'` also turns a repeated query parameter
 * into an array), but a numeric field must look like a number. JSON bodies are typed already and are
 * not coerced: `null` or `"5"` where a number belongs is an error naming the field, never a quiet 0.
 */
export function validatorFactory(): BuildValidator {
  const pool = AjvCompiler();
  return (externalSchemas, serverOptions) => {
    const custom = (serverOptions as { customOptions?: object } | undefined)?.customOptions ?? {};
    const fromText = pool(externalSchemas, {
      ...serverOptions,
      customOptions: { ...custom, ...ajvOptions, coerceTypes: 'array' },
    } as never);
    const typed = pool(externalSchemas, {
      ...serverOptions,
      customOptions: { ...custom, ...ajvOptions, coerceTypes: false },
    } as never);
    return (route) => {
      if (route.httpPart === 'body') return typed(route);
      return numericTextFirst(fromText(route), route.schema as Schema);
    };
  };
}

interface PropertySchema {
  type?: string | string[];
  minimum?: number;
  maximum?: number;
}

interface Schema {
  properties?: Record<string, PropertySchema>;
}

/**
 * Why a number read from text is not the number written, or null when it is: `1e400` reads as Infinity
 * (which Ajv's integer check passes), `9007199254740993` as 9007199254740992 (a different id).
 */
// Runs on every numeric URL parameter of every request: no closures in it (tsx names each one it
// creates, a defineProperty per call).
function notExact(n: number, type: string, s: PropertySchema): string | null {
  if (!Number.isFinite(n))
    return `must be a finite ${type === 'integer' ? `integer ${rangeOf(s)}` : 'number'}`;
  if (type === 'integer' && Number.isInteger(n) && !Number.isSafeInteger(n))
    return `must be an integer ${rangeOf(s)}`;
  return null;
}

function rangeOf(s: PropertySchema): string {
  return s.minimum !== undefined && s.maximum !== undefined
    ? `between ${s.minimum} and ${s.maximum}`
    : `between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;
}

/**
 * Wraps a coercing validator so that text in a numeric field that is not a plain number, or does not
 * read as the number it spells (an overflow to Infinity, an integer beyond 2^53), is refused.
 */
function numericTextFirst(validate: RouteValidator, schema: Schema): RouteValidator {
  const numeric = Object.entries(schema?.properties ?? {})
    .filter(([, s]) => [s.type].flat().some((t) => t === 'integer' || t === 'number'))
    .map(([name, s]) => ({ name, s, type: [s.type].flat().includes('integer') ? 'integer' : 'number' }));
  if (numeric.length === 0) return validate;
  const check = ((data: Record<string, unknown> | null) => {
    for (const { name, s, type } of numeric) {
      const v = data?.[name];
      if (typeof v !== 'string') continue;
      const problem = !NUMERIC.test(v)
        ? `must be ${type === 'integer' ? 'an integer' : 'a number'}`
        : notExact(Number(v), type, s);
      if (problem) {
        check.errors = [
          {
            instancePath: `/${name}`,
            schemaPath: `#/properties/${name}/type`,
            keyword: 'numericText', // its own words (errors.ts words only Ajv's keywords)
            message: problem,
            params: { type },
          },
        ];
        return false;
      }
    }
    const ok = validate(data as never);
    check.errors = (validate as { errors?: AjvErrors }).errors ?? null;
    return ok;
  }) as RouteValidator & { errors?: unknown };
  return check;
}
