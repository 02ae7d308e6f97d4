import type { ModelBundle } from '../../ml/bundle.ts';
import { Rng } from '../../ml/core/rng.ts';
import { kendallTauB, listRbo } from '../../ml/eval/fidelity.ts';
import type { Policy } from '../../ml/steer/policy.ts';
import { recommend } from '../../ml/steer/recommend.ts';
import { ApiError } from '../errors.ts';
import { round6 } from './round.ts';

export interface PreviewInput {
  /** The policies to preview. */
  policies: Policy[];
  /** Policies live traffic applies anyway (the enabled ones): in both the before and the after list. */
  base: Policy[];
  /** User indices to preview on; empty = sample `sample` users with `seed`. */
  users: number[];
  sample: number;
  seed: number;
  k: number;
}

/**
 * A dry run: for each user, the list as live traffic serves it now (with the `base` policies) and with the
 * previewed policies added, their agreement, and which items entered or left lists most often. Nothing is
 * stored.
 */
export function previewPolicies(bundle: ModelBundle, input: PreviewInput) {
  const { items, itemTitles, users: userMap } = bundle.dataset;
  const nUsers = userMap.ids.length;
  const users = input.users.length > 0 ? input.users : sampleUsers(nUsers, input.sample, input.seed);
  if (users.length === 0)
    throw new ApiError(400, 'BAD_REQUEST', 'the model has no users to preview on', 'body.users');
  const entered = new Map<number, number>();
  const left = new Map<number, number>();
  let changedUsers = 0;
  let sumRbo = 0;
  let sumTau = 0;
  let sumOverlap = 0;
  const rows = users.map((u) => {
    const now = recommend(bundle, u, { k: input.k, policies: input.base });
    const r = recommend(bundle, u, { k: input.k, policies: [...input.base, ...input.policies] });
    const after = r.items.map((x) => x.index);
    const before = now.items.map((x) => x.index);
    const agreement = {
      rbo: listRbo(after, before),
      kendallTau: kendallTauB(after, before, input.k),
    };
    const afterSet = new Set(after);
    const beforeSet = new Set(before);
    let overlap = 0;
    for (const i of before)
      if (afterSet.has(i)) overlap++;
      else left.set(i, (left.get(i) ?? 0) + 1);
    for (const i of after) if (!beforeSet.has(i)) entered.set(i, (entered.get(i) ?? 0) + 1);
    const changed = after.length !== before.length || after.some((i, r2) => before[r2] !== i);
    if (changed) changedUsers++;
    sumRbo += agreement.rbo;
    sumTau += agreement.kendallTau;
    sumOverlap += before.length > 0 ? overlap / before.length : 1;
    return {
      userId: r.user,
      before: before.map((i) => items.ids[i]),
      after: after.map((i) => items.ids[i]),
      rbo: round6(agreement.rbo),
      kendallTau: round6(agreement.kendallTau),
      changed,
    };
  });
  const top = (m: Map<number, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 10)
      .map(([i, n]) => ({ itemId: items.ids[i], title: itemTitles[i] ?? '', users: n }));
  const n = rows.length;
  return {
    k: input.k,
    users: rows,
    effect: {
      users: n,
      changedUsers,
      meanRbo: round6(sumRbo / n),
      meanKendallTau: round6(sumTau / n),
      meanOverlap: round6(sumOverlap / n),
      entered: top(entered),
      left: top(left),
    },
  };
}

/** `count` distinct users drawn with a seeded partial shuffle (all of them when there are fewer). */
function sampleUsers(nUsers: number, count: number, seed: number): number[] {
  const rng = new Rng(seed);
  const m = Math.min(count, nUsers);
  const pool = new Map<number, number>();
  const out: number[] = [];
  for (let r = 0; r < m; r++) {
    const s = r + rng.nextInt(nUsers - r);
    const a = pool.get(s) ?? s;
    pool.set(s, pool.get(r) ?? r);
    out.push(a);
  }
  return out;
}
