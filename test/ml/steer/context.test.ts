import { describe, expect, it } from 'vitest';
import type { ModelBundle } from '../../../src/ml/bundle.ts';
import { SteerContext } from '../../../src/ml/steer/context.ts';
import { type FixtureOptions, tinyBundle } from './fixture.ts';

function withPursuit(bundle: ModelBundle, k: number, pool: number): ModelBundle {
  const user = { ...bundle.sae.user, config: { ...bundle.sae.user.config, pursuit: { k, pool } } };
  return { ...bundle, sae: { shared: false, user, item: bundle.sae.item } };
}

const codesOf = (ctx: SteerContext) =>
  Array.from({ length: ctx.nUsers }, (_, u) => Array.from(ctx.userCode(u)));

describe('SteerContext.warmUp', () => {
  const cases: [string, ModelBundle][] = [
    ['ReLU encoder', tinyBundle({ nUsers: 70, nItems: 50, latents: 12 })],
    ['TopK encoder', tinyBundle({ nUsers: 70, nItems: 50, latents: 12, activation: 'topk' })],
    [
      'pursuit users',
      withPursuit(
        tinyBundle({ nUsers: 70, nItems: 50, latents: 12, activation: 'topk' } as FixtureOptions),
        4,
        0,
      ),
    ],
    ['NCF (no candidate lists)', tinyBundle({ nUsers: 70, nItems: 50, latents: 12, kind: 'ncf' })],
  ];

  it.each(cases)(
    '%s: memoises the same user codes, item codes and lists as computing them on demand',
    (_, bundle) => {
      const lazy = new SteerContext(bundle);
      const warm = new SteerContext(bundle);
      let steps = 0;
      for (const _step of warm.warmUp()) steps++;
      expect(steps).toBeGreaterThan(bundle.recommender.nUsers / 64); // it does yield between units
      expect(codesOf(warm)).toEqual(codesOf(lazy));
      expect(Array.from(warm.itemCodes())).toEqual(Array.from(lazy.itemCodes()));
      expect(Array.from(warm.userRef())).toEqual(Array.from(lazy.userRef()));
      const lists = warm.candidates();
      const lazyLists = lazy.candidates();
      if (bundle.recommender.kind === 'mf') {
        if (!lists || !lazyLists) throw new Error('MF bundles have candidate lists');
        for (let u = 0; u < warm.nUsers; u++) {
          const n = lazyLists.ensure(u);
          expect(lists.ensure(u)).toBe(n);
          expect(Array.from(lists.itemsOf(u).subarray(0, n))).toEqual(
            Array.from(lazyLists.itemsOf(u).subarray(0, n)),
          );
        }
      } else expect(lists).toBeNull();
    },
  );

  it('codes each user by pursuit when the user SAE says so (not by the encoder)', () => {
    const base = tinyBundle({ nUsers: 70, nItems: 50, latents: 12, activation: 'topk' });
    const pursued = new SteerContext(withPursuit(base, 4, 0));
    for (const _step of pursued.warmUp());
    const encoded = new SteerContext(base);
    for (const _step of encoded.warmUp());
    expect(codesOf(pursued)).not.toEqual(codesOf(encoded));
  });
});
