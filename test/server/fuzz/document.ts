// The committed OpenAPI document: its operations, and Ajv validators for generated input and for responses.

import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minProperties?: number;
  $ref?: string;
  description?: string;
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required?: boolean;
  schema: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;
}

export interface Op {
  method: string;
  path: string;
  spec: Operation;
  /** GETs need no key (PRISM_READS_OPEN, the default); everything else does. */
  writes: boolean;
}

const doc = JSON.parse(readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

export const OPS: Op[] = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, spec]) => ({
    method: method.toUpperCase(),
    path,
    spec,
    writes: method !== 'get',
  })),
);

/** Input validity as the server's Ajv sees it (NaN and Infinity are not numbers). */
const inputAjv = new Ajv({ strict: false, strictNumbers: true, allErrors: false });
/** Responses, as the document states them. */
export const responseAjv = new Ajv({ strict: false, allErrors: true });
addFormats(inputAjv);
addFormats(responseAjv);

const inputValidators = new WeakMap<Schema, ValidateFunction>();
export function inputValid(s: Schema, value: unknown): boolean {
  let v = inputValidators.get(s);
  if (!v) inputValidators.set(s, (v = inputAjv.compile(s)));
  return v(value) as boolean;
}

/** The schema with `$ref`s to components replaced by what they name. */
function deref(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(deref);
  if (s === null || typeof s !== 'object') return s;
  const o = s as Record<string, unknown>;
  if (typeof o.$ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(o.$ref)?.[1];
    if (!name || !doc.components.schemas[name]) throw new Error(`unresolvable $ref ${o.$ref}`);
    return deref(doc.components.schemas[name]);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, deref(v)]));
}

/**
 * The schema with every object closed where the document does not say otherwise: Fastify's serialiser
 * drops undocumented properties, so one that reaches a client comes from a hand-written encoder (the
 * recommendations route) and the document does not describe it.
 */
function closed(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(closed);
  if (s === null || typeof s !== 'object') return s;
  const o = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, closed(v)])) as Record<string, unknown>;
  if (o.properties && !('additionalProperties' in o)) o.additionalProperties = false;
  return o;
}

interface ResponseValidators {
  open: ValidateFunction;
  closed: ValidateFunction;
}
const responseValidators = new Map<string, ResponseValidators | null>();
export function responseValidator(op: Op, status: number): ResponseValidators | null {
  const key = `${op.spec.operationId} ${status}`;
  if (!responseValidators.has(key)) {
    const schema = op.spec.responses[String(status)]?.content?.['application/json']?.schema;
    const full = schema ? deref(schema) : null;
    responseValidators.set(
      key,
      full
        ? { open: responseAjv.compile(full as object), closed: responseAjv.compile(closed(full) as object) }
        : null,
    );
  }
  return responseValidators.get(key) ?? null;
}

export const typesOf = (s: Schema): string[] => {
  if (s.anyOf) return [...new Set(s.anyOf.flatMap(typesOf))];
  if (s.enum) return [...new Set(s.enum.map((v) => (Number.isInteger(v) ? 'integer' : typeof v)))];
  return s.type === undefined ? [] : [s.type].flat();
};
export const enumOf = (s: Schema): unknown[] | undefined =>
  s.enum ?? (s.anyOf?.every((b) => b.enum) ? s.anyOf.flatMap((b) => b.enum ?? []) : undefined);
