// A generated request, its faults, and how it is sent (inject options) and shown (a reproduction).

import type { InjectOptions } from 'fastify';
import type { Op } from './document.ts';

/** A JSON number written as given: JSON.stringify would round 9007199254740993 and cannot write 1e400. */
export class RawNumber {
  constructor(readonly text: string) {}
}

export function toJson(v: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(v, (_k, x) => (x instanceof RawNumber ? `@@raw${raws.push(x.text) - 1}@@` : x));
  return text.replace(/"@@raw(\d+)@@"/g, (_m, i) => raws[Number(i)]);
}

/** The value as the server's JSON parser reads it. */
export const parsed = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(toJson(v)));

/** Text for a URL part; `raw` is sent as written (already percent-encoded), the rest is encoded. */
export interface UrlText {
  text: string;
  raw?: boolean;
  /** Another field the server may name for this fault (`url`: it is refused before routing). */
  alt?: string;
}

export interface Fault {
  /** The request part at fault: querystring.k, params.userId, body.policy.strength, headers.authorization. */
  part: string;
  alt?: string;
  what: string;
}

export interface Req {
  path: Record<string, UrlText>;
  query: [string, UrlText][];
  /** json: serialised with toJson; text: sent as it is. */
  body?: { json: unknown } | { text: string };
  contentType?: string;
  auth?: string;
  faults: Fault[];
  /** The valid-ish request the faults were added to. */
  base?: Req;
}

export const KEY = 'fuzz-key';

/** Path segments keep dots encoded: `..` must not be resolved away by URL parsing. */
const segment = (t: UrlText) => (t.raw ? t.text : encodeURIComponent(t.text).replace(/\./g, '%2E'));
const queryPart = (t: UrlText) => (t.raw ? t.text : encodeURIComponent(t.text));

function urlOf(op: Op, r: Req): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => segment(r.path[name]));
  const query = r.query.map(([k, v]) => `${encodeURIComponent(k)}=${queryPart(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}

export function injectOptions(op: Op, r: Req): InjectOptions {
  const headers: Record<string, string> = {};
  if (r.auth !== undefined) headers.authorization = r.auth;
  let payload: string | undefined;
  if (r.body) {
    payload = 'json' in r.body ? toJson(r.body.json) : r.body.text;
    headers['content-type'] = r.contentType ?? 'application/json';
  }
  return { method: op.method as InjectOptions['method'], url: urlOf(op, r), headers, payload };
}

/** The request as a reproduction: method, URL, headers, body (cut at 400 characters). */
export function reproduce(op: Op, r: Req): string {
  const o = injectOptions(op, r);
  const body = typeof o.payload === 'string' ? `\n  body: ${o.payload.slice(0, 400)}` : '';
  return `${o.method} ${o.url}\n  headers: ${JSON.stringify(o.headers)}${body}\n  faults: ${JSON.stringify(r.faults)}`;
}
