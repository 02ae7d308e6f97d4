// The properties every response must have, checked against the request and the operation.

import { STATUS_CODES } from 'node:http';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { ErrorBody } from '../../../src/server/errors.ts';
import { type Op, responseAjv, responseValidator, type Schema } from './document.ts';
import { injectOptions, parsed, type Req, reproduce } from './requests.ts';

/** A field names a request part: body, body.policy.strength, querystring.status[1], params.userId, url. */
const REQUEST_PART = /^(?:(?:params|querystring|headers)\.[^.[]+|body)(?:\.[^.[\]]+|\[\d+\])*$|^url$/;

/**
 * Whether a field names something the request has or the operation takes: a parameter, a header the
 * service reads, a place in the body's schema or in the body sent. Not an option the caller never saw.
 */
function exists(op: Op, r: Req, field: string): boolean {
  if (field === 'url' || field === 'body') return true;
  const [, part, name] = /^(params|querystring|headers)\.([^.[]+)/.exec(field) ?? [];
  if (part === 'headers') return ['authorization', 'content-type', 'content-length'].includes(name);
  if (part === 'params') return op.path.includes(`{${name}}`);
  if (part === 'querystring')
    return (
      (op.spec.parameters ?? []).some((p) => p.in === 'query' && p.name === name) ||
      r.query.some(([k]) => k === name)
    );
  let s: Schema | undefined = op.spec.requestBody?.content['application/json'].schema;
  let v: unknown = r.body && 'json' in r.body ? parsed(r.body.json) : undefined;
  for (const [, key, index] of field.slice('body'.length).matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
    const k = key ?? Number(index);
    v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
    s =
      key === undefined
        ? s?.items
        : (s?.properties?.[key] ?? s?.anyOf?.find((b) => b.properties?.[key])?.properties?.[key]);
  }
  return s !== undefined || v !== undefined;
}

/**
 * Whether the request without its fault is refused the same way: a valid-ish request may carry a
 * problem the handler finds (topNeurons without explain=true) before a fault only the handler checks.
 */
async function baseRefused(app: FastifyInstance, op: Op, r: Req, e: ErrorBody): Promise<boolean> {
  if (!r.base) return false;
  const res = await app.inject(injectOptions(op, r.base));
  return res.statusCode === e.statusCode && res.json().field === e.field;
}

/** Whether `field` is the faulty part or lies inside it. */
const names = (field: string, part: string): boolean =>
  field === part || field.startsWith(`${part}.`) || field.startsWith(`${part}[`);

/** Throws, with a reproduction, where the response breaks a property; `app` answers the faultless request. */
export async function check(
  app: FastifyInstance,
  op: Op,
  r: Req,
  res: LightMyRequestResponse,
): Promise<void> {
  const problems: string[] = [];
  const status = res.statusCode;
  if (status >= 500) problems.push(`a ${status}`);
  if (!(String(status) in op.spec.responses)) problems.push(`status ${status} is not documented`);
  let body: unknown;
  if (status === 204) {
    if (res.body !== '') problems.push('a 204 with a body');
  } else {
    if (!/^application\/json(;|$)/.test(String(res.headers['content-type'] ?? '')))
      problems.push(`content-type ${res.headers['content-type']} is not JSON`);
    try {
      body = JSON.parse(res.body);
    } catch {
      problems.push('the body is not JSON');
    }
  }
  // One part at fault (perhaps twice over): the error must name it.
  const single = new Set(r.faults.map((f) => f.part)).size === 1 ? r.faults[r.faults.length - 1] : undefined;
  if (status < 300 && r.faults.length > 0) problems.push(`a ${status} for a request with a fault`);
  if (status < 300 && body !== undefined) {
    const v = responseValidator(op, status);
    if (!v) problems.push(`no JSON schema documented for ${status}`);
    else if (!v.open(body))
      problems.push(`the ${status} body violates its schema: ${responseAjv.errorsText(v.open.errors)}`);
    else if (!v.closed(body))
      problems.push(
        `the ${status} body has undocumented properties: ${responseAjv.errorsText(v.closed.errors)}`,
      );
  }
  if (status >= 400 && status < 500 && body !== undefined) {
    const v = responseValidator(op, status);
    if (!v) problems.push(`no error schema documented for ${status}`);
    else if (!v.closed(body))
      problems.push(`the error body violates Error: ${responseAjv.errorsText(v.closed.errors)}`);
    const e = body as ErrorBody;
    if (e.statusCode !== status) problems.push(`statusCode ${e.statusCode} in a ${status}`);
    if (e.error !== STATUS_CODES[status]) problems.push(`error "${e.error}" in a ${status}`);
    if (typeof e.message !== 'string' || e.message.length === 0) problems.push('an empty message');
    if (e.field === undefined) problems.push('no field');
    else if (!REQUEST_PART.test(e.field) || !exists(op, r, e.field))
      problems.push(`field "${e.field}" names no part of the request or the operation`);
    else if (
      single &&
      !names(e.field, single.part) &&
      e.field !== single.alt &&
      !(await baseRefused(app, op, r, e))
    )
      problems.push(`field "${e.field}" for a fault in ${single.part}`);
  }
  if (problems.length > 0)
    throw new Error(`${problems.join('; ')}\n${reproduce(op, r)}\n→ ${status} ${res.body.slice(0, 600)}`);
}
