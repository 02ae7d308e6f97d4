// Arbitraries for what the fixture holds (ids, concepts, neurons, policies) and for policies, jobs and
// previews the server will mostly accept; odd strings for anywhere a string goes.

import fc from 'fast-check';
import { TEMPLATE } from '../fixture.ts';
import { world } from './world.ts';

export const cf = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
export const MAX_ID = 2_147_483_647;

/** Strings that are valid where any string is, and odd: encodings, controls, look-alikes, path-ish. */
const ODD_STRINGS = [
  '😀',
  'e\u0301',
  '\u202Eevil',
  'ß',
  'İ',
  '\u0000',
  '%00',
  '%',
  '..x',
  'a/b',
  '?x=1',
  '#frag',
  ' ',
  '\t',
  'null',
  '__proto__',
  'constructor',
  ' u1',
  '١٢٣',
  '\uFEFF',
];

export const oddString = (min = 0, max = 200): fc.Arbitrary<string> =>
  fc.oneof(
    cf(ODD_STRINGS.filter((s) => s.length >= min && s.length <= max)),
    fc.string({ unit: 'grapheme', minLength: Math.max(min, 1), maxLength: Math.min(max, 12) }),
  );

/** A real id mostly, else an unknown or odd one. */
export const idLike = (real: readonly string[]) =>
  fc.oneof({ weight: 6, arbitrary: cf(real) }, { weight: 1, arbitrary: oddString(1, 200) });

export const unknownId = fc.oneof(fc.integer({ min: 100_000, max: MAX_ID }), fc.constant(MAX_ID));

export const policyRef = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: cf(world.policies.flatMap((p) => [String(p.id), p.name])) },
    { weight: 1, arbitrary: fc.oneof(unknownId.map(String), oddString(1, 100)) },
  );

export const conceptArb = (): fc.Arbitrary<string> =>
  fc.oneof({ weight: 4, arbitrary: cf(world.concepts) }, { weight: 1, arbitrary: oddString(1, 200) });

export const neuronArb = (): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: world.latents - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: world.latents, max: MAX_ID }) },
  );

export const policyName = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^fz[A-Za-z0-9 _.:-]{0,10}[A-Za-z0-9_.:-]$/) },
    { weight: 1, arbitrary: cf(world.policies.map((p) => p.name)) },
  );

const merge = (...parts: fc.Arbitrary<object>[]) =>
  fc.tuple(...parts).map((xs) => Object.assign({}, ...xs) as Record<string, unknown>);

/** Policies the model will mostly accept: each kind with a target its side takes. */
export function policyTemplate(): fc.Arbitrary<Record<string, unknown>> {
  const which = fc.oneof(fc.record({ concept: cf(world.concepts) }), fc.record({ neuron: neuronArb() }));
  const strength = fc.record({ strength: fc.double({ min: 0, max: 5, noNaN: true }) });
  const users = fc.record({ users: fc.uniqueArray(cf(world.users), { minLength: 1, maxLength: 3 }) });
  const items = fc.record({ items: fc.uniqueArray(cf(world.items), { minLength: 1, maxLength: 3 }) });
  const segment = fc.record({
    segment: fc.oneof(
      fc.record({ threshold: fc.double({ min: -1, max: 2, noNaN: true }), concept: cf(world.concepts) }),
      fc.record({ threshold: fc.double({ min: -1, max: 2, noNaN: true }), neuron: neuronArb() }),
    ),
  });
  const all = fc.constant({ all: true });
  const userTarget = fc.oneof(users, segment, all);
  const mode = fc.option(fc.record({ mode: cf(['delta', 'replace']) }), { nil: {} });
  return fc.oneof(
    merge(fc.constant({ kind: 'boost' }), which, strength, userTarget, mode),
    merge(fc.constant({ kind: 'suppress' }), which, strength, fc.oneof(items, all)),
    merge(fc.constant({ kind: 'suppress', on: 'users' }), which, strength, userTarget, mode),
    merge(fc.constant({ kind: 'promote' }), which, strength, items),
    merge(
      fc.constant({ kind: 'edit', side: 'user' }),
      fc.record({ op: cf(['set', 'scale', 'add']), value: fc.double({ min: -5, max: 5, noNaN: true }) }),
      which,
      userTarget,
    ),
    merge(
      fc.constant({ kind: 'edit', side: 'item' }),
      fc.record({ op: cf(['set', 'scale']), value: fc.double({ min: -5, max: 5, noNaN: true }) }),
      which,
      fc.oneof(items, all),
    ),
    fc.record({ kind: fc.constant('popularity'), strength: fc.double({ min: -2, max: 2, noNaN: true }) }),
  );
}

export const dataSpec = () =>
  fc.oneof(
    { weight: 4, arbitrary: cf(['synthetic', 'synthetic:users=50,items=30,genres=2,seed=3']) },
    { weight: 1, arbitrary: cf(['bogus', 'synthetic:users=-5', 'movielens-1m:/nonexistent', '  ']) },
  );

/** Job requests the runner will mostly accept (it is off: they stay queued). */
export function jobTemplate(): fc.Arbitrary<Record<string, unknown>> {
  const base = cf([TEMPLATE.active, TEMPLATE.other, TEMPLATE.recommenderOnly]);
  const sae = fc.record(
    { latents: cf([8, 16]), k: fc.integer({ min: 1, max: 8 }), epochs: fc.integer({ min: 1, max: 3 }) },
    { requiredKeys: [] },
  );
  const training = {
    data: dataSpec(),
    model: cf(['mf', 'ncf']),
    dim: fc.integer({ min: 2, max: 16 }),
    epochs: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer({ min: 0, max: 100 }),
    setting: cf(['concepts', 'fidelity']),
    sae,
  };
  const job = (type: string, params: fc.Arbitrary<object>) =>
    fc.record(
      { type: fc.constant(type), params, maxAttempts: fc.integer({ min: 1, max: 10 }) },
      { requiredKeys: ['type', 'params'] },
    );
  return fc.oneof(
    job('pipeline', fc.record({ ...training, activate: fc.boolean() }, { requiredKeys: ['data'] })),
    job('train-recommender', fc.record(training, { requiredKeys: ['data'] })),
    job(
      'train-sae',
      fc.record(
        { baseModelId: base, setting: training.setting, sae, activate: fc.boolean() },
        { requiredKeys: [] },
      ),
    ),
    job('evaluate', fc.record({ baseModelId: base }, { requiredKeys: [] })),
    job('label', fc.record({ baseModelId: base, activate: fc.boolean() }, { requiredKeys: [] })),
  );
}

/** Preview bodies with exactly one of policies and policyIds (the route refuses both and neither). */
export function previewTemplate(): fc.Arbitrary<Record<string, unknown>> {
  const ids = fc.oneof(cf(world.policies.map((p) => p.id)), cf(world.policies.map((p) => p.name)));
  return merge(
    fc.oneof(
      fc.record({ policies: fc.array(policyTemplate(), { minLength: 1, maxLength: 2 }) }),
      fc.record({ policyIds: fc.uniqueArray(ids, { minLength: 1, maxLength: 2 }) }),
    ),
    fc.record(
      {
        users: fc.uniqueArray(cf(world.users), { minLength: 1, maxLength: 4 }),
        sample: fc.integer({ min: 1, max: 30 }),
        seed: fc.integer({ min: 0, max: 1000 }),
        k: fc.integer({ min: 1, max: 20 }),
      },
      { requiredKeys: [] },
    ),
  );
}
