// Faults: values and texts the schemas refuse, and one fault added to a request (a parameter, the body,
// its type, or the API key).

import fc from 'fast-check';
import { cf } from './arbitraries.ts';
import { enumOf, inputValid, type Op, type Schema, typesOf } from './document.ts';
import { type Fault, KEY, parsed, RawNumber, type Req, toJson, type UrlText } from './requests.ts';
import { valueArb } from './values.ts';

const badValueLists = new WeakMap<Schema, unknown[]>();

/** JSON values the schema refuses: other types, the ends of ranges and lengths, unknown enum values. */
function badValues(s: Schema): unknown[] {
  let bad = badValueLists.get(s);
  if (!bad) badValueLists.set(s, (bad = badValueCandidates(s).filter((v) => !inputValid(s, parsed(v)))));
  return bad;
}

function badValueCandidates(s: Schema): unknown[] {
  const types = typesOf(s);
  const candidates: unknown[] = [null, true, 'text', 0, 1.5, [], {}, [1], { zz: 1 }, ''];
  const numeric = types.includes('integer') || types.includes('number');
  if (numeric) {
    candidates.push('1', new RawNumber('1e400'), new RawNumber('-1e400'), new RawNumber('9007199254740993'));
    candidates.push(new RawNumber('1e308'), -1, 2 ** 31, 2 ** 32);
    if (s.minimum !== undefined) candidates.push(s.minimum - 1, s.minimum - 0.5);
    if (s.maximum !== undefined) candidates.push(s.maximum + 1, s.maximum + 0.5);
    if (s.exclusiveMinimum !== undefined) candidates.push(s.exclusiveMinimum);
  }
  const enumValues = enumOf(s);
  if (enumValues) {
    const first = String(enumValues[0]);
    candidates.push('bogus', first.toUpperCase(), ` ${first}`, `${first}\u0000`);
  }
  if (s.maxLength !== undefined) candidates.push('x'.repeat(s.maxLength + 1), '😀'.repeat(s.maxLength));
  if (s.pattern) candidates.push(' lead', 'trail ', '1234', 'a/b', 'a\u0000b', '😀', '-x');
  if (s.items) candidates.push([null], [true], [{}], ['x'.repeat(300)], [new RawNumber('1e400')]);
  if (s.maxItems !== undefined && s.maxItems <= 10_000)
    candidates.push(
      Array.from({ length: s.maxItems + 1 }, (_, i) =>
        typesOf(s.items ?? {})[0] === 'integer' ? i + 1 : `x${i}`,
      ),
    );
  return candidates;
}

/** Texts a numeric, boolean, enum or length-limited URL parameter refuses. */
function badTexts(s: Schema, where: 'path' | 'query'): UrlText[] {
  const types = typesOf(s.items ?? s);
  const out: UrlText[] = [];
  const enumValues = enumOf(s.items ?? s);
  if (types.includes('integer') || types.includes('number')) {
    const texts = [
      'abc',
      '0x10',
      '1e400',
      '-1e400',
      '9007199254740993',
      'NaN',
      'Infinity',
      '１',
      ' 1',
      '1,2',
    ];
    if (types.includes('integer') && !types.includes('number')) texts.push('1.5');
    if (s.minimum !== undefined) texts.push(String(s.minimum - 1));
    if (s.maximum !== undefined) texts.push(String(s.maximum + 1));
    out.push(...texts.map((text) => ({ text })), { text: '%00', raw: true }, { text: '%2500', raw: true });
    if (where === 'query') out.push({ text: '' });
  } else if (types.includes('boolean')) {
    out.push(...['yes', '1', '0', 'TRUE', 'on', 'null', ''].map((text) => ({ text })));
  } else if (enumValues) {
    const first = String(enumValues[0]);
    out.push(...['bogus', first.toUpperCase(), ` ${first}`].map((text) => ({ text })));
  } else if (types.includes('string')) {
    if (s.maxLength !== undefined) out.push({ text: 'x'.repeat(s.maxLength + 1) });
    if (where === 'path') {
      // Past the router's 256 characters, and malformed percent-encodings: refused before routing.
      out.push({ text: 'x'.repeat(300), alt: 'url' });
      out.push({ text: '%ZZ', raw: true, alt: 'url' }, { text: '%ED%A0%80', raw: true, alt: 'url' });
    }
    if ((s.minLength ?? 0) > 0 && where === 'query') out.push({ text: '' });
  }
  if (s.type === 'array') {
    // Limits after splitting on commas: at most maxItems ids, each at most 200 characters.
    out.push({ text: Array.from({ length: (s.maxItems ?? 500) + 1 }, (_, i) => `x${i}`).join(',') });
    if (!enumValues) out.push({ text: 'y'.repeat(201) });
  }
  return out;
}

type Path = (string | number)[];
interface Site {
  kind: 'replace' | 'delete' | 'add' | 'extra';
  at: Path;
  field: string;
  schema: Schema;
}

/** Places in a JSON body where a fault can go: every value, every required field, extra fields. */
function bodySites(value: unknown, s: Schema, at: Path, field: string, out: Site[]): Site[] {
  out.push({ kind: 'replace', at, field, schema: s });
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && s.properties) {
    const o = value as Record<string, unknown>;
    for (const [k, ps] of Object.entries(s.properties)) {
      const where = { at: [...at, k], field: `${field}.${k}`, schema: ps };
      if (k in o) {
        bodySites(o[k], ps, where.at, where.field, out);
        if (s.required?.includes(k)) out.push({ kind: 'delete', ...where });
      } else out.push({ kind: 'add', ...where });
    }
    if (s.additionalProperties === false)
      out.push({ kind: 'extra', at: [...at, 'zzExtra'], field: `${field}.zzExtra`, schema: {} });
  }
  if (Array.isArray(value) && s.items)
    for (const [i, x] of value.slice(0, 2).entries())
      bodySites(x, s.items, [...at, i], `${field}[${i}]`, out);
  return out;
}

/** A deep copy that keeps RawNumbers (structuredClone would make them plain objects). */
const copyOf = (v: unknown): unknown =>
  v instanceof RawNumber || v === null || typeof v !== 'object'
    ? v
    : Array.isArray(v)
      ? v.map(copyOf)
      : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyOf(x)]));

function setAt(root: unknown, at: Path, v: unknown, remove: boolean): unknown {
  if (at.length === 0) return v;
  const copy = copyOf(root) as Record<string | number, unknown>;
  let node = copy;
  for (const k of at.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = at[at.length - 1];
  if (remove) delete node[last];
  else node[last] = v;
  return copy;
}

const withFault = (r: Req, change: Partial<Req>, fault: Fault): Req => ({
  ...r,
  ...change,
  faults: [...r.faults, fault],
  base: r.base ?? r,
});

/** One fault added to a request: in a path or query parameter, the body, its type, or the API key. */
export function mutate(op: Op, r: Req): fc.Arbitrary<Req> {
  // Faults in parameters and inside the body (where the schemas have most to say) three times as often
  // as each of the rest (the body's type and syntax, the key).
  const options: fc.WeightedArbitrary<Req>[] = [];
  const add = (weight: number, arbitrary: fc.Arbitrary<Req>) => options.push({ weight, arbitrary });
  for (const p of op.spec.parameters ?? []) {
    const part = `${p.in === 'path' ? 'params' : 'querystring'}.${p.name}`;
    const texts = badTexts(p.schema, p.in);
    if (p.in === 'path' && texts.length > 0)
      add(
        3,
        cf(texts).map((t) =>
          withFault(r, { path: { ...r.path, [p.name]: t } }, { part, alt: t.alt, what: t.text }),
        ),
      );
    if (p.in === 'query') {
      const others = r.query.filter(([k]) => k !== p.name);
      if (texts.length > 0)
        add(
          3,
          cf(texts).map((t) => withFault(r, { query: [...others, [p.name, t]] }, { part, what: t.text })),
        );
      // A parameter that takes one value, given twice.
      if (p.schema.type !== 'array') {
        const once = valueArb(p.schema, part, op).map((v) => ({ text: String(v) }));
        add(
          1,
          fc
            .tuple(once, once)
            .map(([a, b]) =>
              withFault(r, { query: [...others, [p.name, a], [p.name, b]] }, { part, what: 'twice' }),
            ),
        );
      }
    }
  }
  // Every /v1 route with query parameters refuses one it does not know (additionalProperties: false);
  // the health probes take none and read none.
  if (op.path.startsWith('/v1'))
    add(
      1,
      fc.constant(
        withFault(
          r,
          { query: [...r.query, ['zzExtra', { text: '1' }]] },
          { part: 'querystring.zzExtra', what: 'unknown' },
        ),
      ),
    );
  const bodySchema = op.spec.requestBody?.content['application/json'].schema;
  if (bodySchema && r.body && 'json' in r.body) {
    const json = r.body.json;
    // Places where the schema refuses something (a value with no constraint has no bad value).
    const sites = bodySites(json, bodySchema, [], 'body', []).filter(
      (x) => x.kind === 'delete' || x.kind === 'extra' || badValues(x.schema).length > 0,
    );
    // Each kind of fault as often as the others (values to replace far outnumber the rest).
    const kinds = [...new Set(sites.map((x) => x.kind))].map((kind) =>
      cf(sites.filter((x) => x.kind === kind)),
    );
    add(
      6,
      fc.oneof(...kinds).chain((site) => {
        const fault = (what: string) => ({ part: site.field, what: `${site.kind} ${what}` });
        if (site.kind === 'delete')
          return fc.constant(
            withFault(r, { body: { json: setAt(json, site.at, undefined, true) } }, fault('')),
          );
        const values = cf(site.kind === 'extra' ? [1, 'x', null, {}] : badValues(site.schema));
        return values.map((v) =>
          withFault(r, { body: { json: setAt(json, site.at, v, false) } }, fault(toJson(v).slice(0, 60))),
        );
      }),
    );
  }
  if (op.writes) {
    if (bodySchema) {
      add(1, fc.constant(withFault(r, { body: undefined }, { part: 'body', what: 'missing' })));
      add(
        1,
        cf(['{"name":', '{', '{"a":1}x', "{'a':1}", '{"__proto__":{"x":1}}', 'NaN', '[1,]']).map((text) =>
          withFault(
            r,
            { body: { text }, contentType: 'application/json' },
            { part: 'body', what: 'not JSON' },
          ),
        ),
      );
      // Past PRISM_BODY_LIMIT (256 KiB by default).
      const huge = { text: `{"name":"${'x'.repeat(300_000)}"}` };
      add(1, fc.constant(withFault(r, { body: huge }, { part: 'body', what: 'too large' })));
    } else {
      // Actions and deletions take no body; a field sent to them is refused, not ignored.
      add(
        2,
        cf<unknown>([{ force: true }, [1], 'text', 0]).map((json) =>
          withFault(r, { body: { json } }, { part: 'body', what: 'a body' }),
        ),
      );
    }
    const typed = r.body && 'json' in r.body ? r.body : { json: {} };
    add(
      1,
      cf([
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ]).map((contentType) =>
        withFault(r, { body: typed, contentType }, { part: 'headers.content-type', what: contentType }),
      ),
    );
    add(
      1,
      cf([undefined, 'Bearer wrong', `Basic ${KEY}`, 'Bearer', KEY]).map((auth) =>
        withFault(r, { auth }, { part: 'headers.authorization', what: String(auth) }),
      ),
    );
  }
  return options.length > 0 ? fc.oneof(...options) : fc.constant(r);
}
