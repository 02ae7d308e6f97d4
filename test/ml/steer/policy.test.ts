import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MlError } from '../../../src/ml/core/errors.ts';
import {
  memoisedConcepts,
  type Policy,
  resolveConcept,
  validatePolicies,
  validatePolicy,
} from '../../../src/ml/steer/policy.ts';
import { neuron, tinyBundle } from './fixture.ts';

const bundle = tinyBundle();

function errorOf(f: () => unknown): MlError {
  try {
    f();
  } catch (e) {
    if (e instanceof MlError) return e;
    throw e;
  }
  throw new Error('expected an MlError');
}

describe('validatePolicy', () => {
  it('accepts each kind and fills defaults', () => {
    expect(
      validatePolicy({ kind: 'suppress', concept: 'horror', strength: 1, users: ['u1'] }, bundle),
    ).toEqual({
      kind: 'suppress',
      concept: 'horror',
      strength: 1,
      users: ['u1'],
      on: 'items',
    });
    expect(validatePolicy({ kind: 'popularity', strength: -0.5 }, bundle)).toMatchObject({
      on: 'items',
      all: true,
    });
    expect(validatePolicy({ kind: 'promote', neuron: 2, strength: 2, items: ['i7'] }, bundle).items).toEqual([
      'i7',
    ]);
  });

  it('names the field of every error', () => {
    const cases: [unknown, string, string][] = [
      [{ kind: 'nope' }, 'BAD_POLICY', 'kind'],
      [{ kind: 'suppress', concept: 'Horror', strength: 'x', users: ['u1'] }, 'BAD_POLICY', 'strength'],
      [{ kind: 'suppress', concept: 'Horror', strength: -1, users: ['u1'] }, 'BAD_POLICY', 'strength'],
      // Beyond ±1000 float32 scores can overflow and empty every list.
      [{ kind: 'boost', concept: 'Horror', strength: 1e308, all: true }, 'BAD_POLICY', 'strength'],
      [{ kind: 'popularity', strength: -1001 }, 'BAD_POLICY', 'strength'],
      [{ kind: 'edit', side: 'user', op: 'set', value: 1e39, neuron: 0, all: true }, 'BAD_POLICY', 'value'],
      [{ kind: 'suppress', concept: 'Westerns', strength: 1, users: ['u1'] }, 'UNKNOWN_CONCEPT', 'concept'],
      [{ kind: 'suppress', neuron: 99, strength: 1, users: ['u1'] }, 'UNKNOWN_NEURON', 'neuron'],
      [{ kind: 'suppress', neuron: 1.5, strength: 1, users: ['u1'] }, 'UNKNOWN_NEURON', 'neuron'],
      [{ kind: 'suppress', concept: 'Horror', strength: 1, users: ['nobody'] }, 'UNKNOWN_USER', 'users[0]'],
      [{ kind: 'suppress', concept: 'Horror', strength: 1 }, 'BAD_POLICY', 'users'],
      [{ kind: 'promote', concept: 'Horror', strength: 1, items: ['i1', 'zz'] }, 'UNKNOWN_ITEM', 'items[1]'],
      [{ kind: 'promote', concept: 'Horror', strength: 1, users: ['u1'] }, 'BAD_POLICY', 'users'],
      [{ kind: 'edit', side: 'user', op: 'mul', value: 1, neuron: 0, all: true }, 'BAD_POLICY', 'op'],
      [
        { kind: 'suppress', concept: 'Horror', strength: 1, users: ['u1'], colour: 'red' },
        'BAD_POLICY',
        'colour',
      ],
      [
        { kind: 'suppress', concept: 'Horror', strength: 1, segment: { threshold: 0, concept: 'Jazz' } },
        'UNKNOWN_CONCEPT',
        'segment.concept',
      ],
    ];
    for (const [p, code, field] of cases) {
      const e = errorOf(() => validatePolicy(p, bundle));
      expect([e.code, e.field]).toEqual([code, field]);
    }
    const e = errorOf(() =>
      validatePolicies(
        [
          { kind: 'popularity', strength: 1 },
          { kind: 'boost', concept: 'Cats', strength: 1, users: ['u1'] },
        ],
        bundle,
      ),
    );
    expect(e.field).toBe('policies[1].concept');
    expect(e.message).toContain('Cats');
  });

  it('refuses what would be silently ignored: replace on item views, and an equal shift of every MF item', () => {
    const cases: [unknown, string][] = [
      [{ kind: 'suppress', concept: 'Horror', strength: 1, all: true, mode: 'replace' }, 'mode'],
      [{ kind: 'promote', concept: 'Horror', strength: 1, all: true }, 'all'],
      // in replace mode too: lists would move only by the reconstruction swap, whatever the strength
      [{ kind: 'promote', concept: 'Horror', strength: 1, all: true, mode: 'replace' }, 'all'],
      [{ kind: 'edit', side: 'item', op: 'add', value: 2, neuron: 3, all: true }, 'all'],
    ];
    for (const [p, field] of cases) {
      const e = errorOf(() => validatePolicy(p, bundle));
      expect([e.code, e.field]).toEqual(['BAD_POLICY', field]);
    }
    expect(errorOf(() => validatePolicy(cases[1][0], bundle)).message).toMatch(/changes no list/);
    // …but each is fine where it does something: replace on the users' codes, named items, another op,
    // and NCF, whose MLP is not linear in the item.
    const ok: unknown[] = [
      { kind: 'suppress', concept: 'Horror', strength: 1, all: true, mode: 'replace', on: 'users' },
      { kind: 'promote', concept: 'Horror', strength: 1, items: ['i1'] },
      { kind: 'edit', side: 'item', op: 'scale', value: 2, neuron: 3, all: true },
    ];
    for (const p of ok) expect(() => validatePolicy(p, bundle)).not.toThrow();
    const ncf = tinyBundle({ kind: 'ncf' });
    expect(() =>
      validatePolicy({ kind: 'promote', concept: 'Horror', strength: 1, all: true }, ncf),
    ).not.toThrow();
  });

  it('resolves concepts by label or concept tag, case-insensitively', () => {
    expect(resolveConcept(bundle.neurons, 'HORROR')).toEqual([0]);
    // Unknown names are refused and not remembered: they are whatever callers send.
    const before = memoisedConcepts(bundle.neurons);
    for (let i = 0; i < 100; i++)
      expect(() => resolveConcept(bundle.neurons, `no-such-${i}`)).toThrow(/no-such/);
    expect(resolveConcept(bundle.neurons, ' horror ')).toEqual([0]);
    expect(memoisedConcepts(bundle.neurons)).toBe(before);
    expect(resolveConcept(bundle.neurons, 'popularity')).toEqual([1]);
    const withCombined = bundle.neurons.map((n) =>
      n.index === 5 ? neuron(5, '1980s Horror', { kind: 'combined', concept: 'Horror' }) : n,
    );
    expect(resolveConcept(withCombined, 'horror')).toEqual([0, 5]);
    expect(resolveConcept(withCombined, '1980s horror')).toEqual([5]);
  });

  it('with one SAE per side, refuses labels where they would name a user-SAE neuron', () => {
    const separate = tinyBundle({ shared: false });
    const user = separate.dataset.users.ids[0];
    const item = separate.dataset.items.ids[0];
    // Item-side edits: labels name item-SAE neurons, fine.
    expect(
      validatePolicy({ kind: 'promote', concept: 'Horror', strength: 1, items: [item] }, separate).kind,
    ).toBe('promote');
    expect(
      validatePolicy({ kind: 'suppress', concept: 'Horror', strength: 1, users: [user] }, separate).kind,
    ).toBe('suppress');
    expect(validatePolicy({ kind: 'popularity', strength: -0.5 }, separate).all).toBe(true);
    // User-side edits and segments by label: refused, naming the field; by index: fine.
    const cases: [unknown, string][] = [
      [{ kind: 'boost', concept: 'Horror', strength: 1, users: [user] }, 'concept'],
      [{ kind: 'suppress', on: 'users', concept: 'Comedy', strength: 1, all: true }, 'concept'],
      [{ kind: 'popularity', on: 'users', strength: -0.5, all: true }, 'neuron'],
      [
        { kind: 'suppress', concept: 'Horror', strength: 1, segment: { threshold: 0, concept: 'Horror' } },
        'segment.concept',
      ],
      [{ kind: 'suppress', concept: 'Horror', strength: 1, segment: { threshold: 0 } }, 'segment.neuron'],
    ];
    for (const [policy, field] of cases) {
      const e = errorOf(() => validatePolicy(policy, separate));
      expect(e.field).toBe(field);
      expect(e.message).toContain('shared: false');
      // The same policy is fine when one SAE serves both sides.
      expect(() => validatePolicy(policy, bundle)).not.toThrow();
    }
    expect(validatePolicy({ kind: 'boost', neuron: 3, strength: 1, users: [user] }, separate).neuron).toBe(3);
    expect(
      validatePolicy(
        { kind: 'suppress', neuron: 0, strength: 1, segment: { threshold: 0, neuron: 4 } },
        separate,
      ).segment,
    ).toEqual({ threshold: 0, neuron: 4 });
  });

  it('round-trips through JSON (property)', () => {
    const users = bundle.dataset.users.ids;
    const items = bundle.dataset.items.ids;
    const neuronOrConcept = fc.oneof(
      fc.record({ neuron: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ concept: fc.constantFrom('Horror', 'comedy', 'popular') }),
    );
    const arb: fc.Arbitrary<unknown> = fc.oneof(
      fc
        .tuple(
          neuronOrConcept,
          fc.double({ min: 0, max: 5, noNaN: true }),
          fc.subarray(users, { minLength: 1 }),
        )
        .map(([n, strength, us]) => ({ kind: 'suppress', ...n, strength, users: us, id: 'p', version: 3 })),
      fc
        .tuple(
          neuronOrConcept,
          fc.double({ min: 0, max: 5, noNaN: true }),
          fc.double({ min: -2, max: 2, noNaN: true }),
        )
        .map(([n, strength, threshold]) => ({
          kind: 'suppress',
          ...n,
          strength,
          segment: { threshold },
          mode: 'replace',
          on: 'users',
        })),
      fc
        .tuple(
          neuronOrConcept,
          fc.double({ min: 0, max: 5, noNaN: true }),
          fc.subarray(items, { minLength: 1 }),
        )
        .map(([n, strength, is]) => ({ kind: 'promote', ...n, strength, items: is })),
      fc
        .tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom('users', 'items'))
        .map(([strength, on]) => ({ kind: 'popularity', strength, on })),
      fc
        .tuple(
          neuronOrConcept,
          fc.constantFrom('set', 'scale', 'add'),
          fc.double({ min: -3, max: 3, noNaN: true }),
          fc.constantFrom('user', 'item'),
        )
        // an item-side add to all of an MF model's items is refused (it reorders nothing)
        .map(([n, op, value, side]) => ({
          kind: 'edit',
          ...n,
          op,
          value,
          side,
          ...(side === 'item' && op === 'add' ? { items } : { all: true }),
        })),
    );
    fc.assert(
      fc.property(arb, (raw) => {
        const p: Policy = validatePolicy(raw, bundle);
        const back = validatePolicy(JSON.parse(JSON.stringify(p)), bundle);
        expect(back).toEqual(p);
        expect(JSON.stringify(back)).toBe(JSON.stringify(p));
      }),
      { numRuns: 200 },
    );
  });
});
