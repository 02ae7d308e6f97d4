// The requests for an operation: a valid-ish one, with one or two faults added to some.

import fc from 'fast-check';
import { cf } from './arbitraries.ts';
import type { Op } from './document.ts';
import { mutate } from './faults.ts';
import { type Fault, KEY, type Req, type UrlText } from './requests.ts';
import { valueArb } from './values.ts';

/** A valid-ish request: every parameter from its schema or hint, a body from its schema or template. */
export function validIsh(op: Op): fc.Arbitrary<Req> {
  const params = op.spec.parameters ?? [];
  const path: Record<string, fc.Arbitrary<UrlText>> = {};
  for (const p of params.filter((x) => x.in === 'path'))
    path[p.name] = valueArb(p.schema, `params.${p.name}`, op)
      .map(String)
      // URL parsers (light-my-request's, browsers') read %2E and %2E%2E as dot segments and resolve them.
      .filter((v) => v !== '.' && v !== '..')
      .map((text) => ({ text }));
  const query = params
    .filter((p) => p.in === 'query')
    .map((p) => {
      const at = `querystring.${p.name}`;
      const values: fc.Arbitrary<[string, UrlText][]> =
        p.schema.type === 'array'
          ? fc
              .tuple(
                fc.array(valueArb(p.schema.items ?? {}, `${at}[]`, op), { minLength: 1, maxLength: 3 }),
                fc.boolean(),
              )
              .map(([xs, repeat]) =>
                repeat
                  ? xs.map((x): [string, UrlText] => [p.name, { text: String(x) }])
                  : [[p.name, { text: xs.map(String).join(',') }]],
              )
          : valueArb(p.schema, at, op).map((v): [string, UrlText][] => [[p.name, { text: String(v) }]]);
      return fc.option(values, { nil: [] as [string, UrlText][], freq: 2 });
    });
  const bodySchema = op.spec.requestBody?.content['application/json'].schema;
  const body: fc.Arbitrary<Req['body']> = bodySchema
    ? valueArb(bodySchema, 'body', op).map((json) => ({ json }))
    : op.writes
      ? fc.constantFrom<Req['body']>(undefined, { json: {} }, { text: '' })
      : fc.constant(undefined);
  const auth = op.writes ? fc.constant(`Bearer ${KEY}`) : cf([undefined, `Bearer ${KEY}`]); // a wrong key is refused on reads too (a fault, not a valid request)
  return fc.record({
    path: fc.record(path),
    query: fc.tuple(...query).map((qs) => qs.flat()),
    body,
    auth,
    faults: fc.constant([] as Fault[]),
  });
}

/** Parameters that only mean something together (topNeurons needs explain=true) mostly come together. */
function together(op: Op, r: Req, apply: boolean): Req {
  if (!apply || op.spec.operationId !== 'getRecommendations' || !r.query.some(([k]) => k === 'topNeurons'))
    return r;
  return { ...r, query: [...r.query.filter(([k]) => k !== 'explain'), ['explain', { text: 'true' }]] };
}

/** Valid-ish requests for the operation, as they are or with one or two faults. */
export function requests(op: Op): fc.Arbitrary<Req> {
  const base = fc.tuple(validIsh(op), fc.nat(3)).map(([r, n]) => together(op, r, n > 0));
  return base.chain((r) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(r) },
      { weight: 3, arbitrary: mutate(op, r) },
      { weight: 1, arbitrary: mutate(op, r).chain((m) => mutate(op, m)) },
    ),
  );
}
