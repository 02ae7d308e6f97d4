import type { ModelBundle } from '../../bundle.ts';
import { Rng } from '../../core/rng.ts';
import type { Csr, Split } from '../../data/types.ts';
import { topKExcluding } from '../../eval/topk.ts';
import type { PairScorer, Recommender } from '../../models/types.ts';
import { applyItemViews, type compilePolicies, steerItems, steerUser } from '../apply.ts';
import { type SteerContext, steerContext } from '../context.ts';
import type { MeasureInput, MeasureOptions } from './types.ts';

/** Depth of every list the measurements compare (top-30, as the paper). */
export const DEPTH = 30;

/**
 * What the three measurements share: the steering context, the users measured, their unsteered top lists,
 * one scratch score buffer, and the report's list of choices each adds to.
 */
export interface MeasureSession {
  bundle: ModelBundle;
  split: Split;
  train: Csr;
  o: MeasureOptions;
  ctx: SteerContext;
  model: Recommender;
  itemCodes: Float32Array; // [nItems × latents]
  /** The users measured, ascending. */
  users: Int32Array;
  /** One SAE for users and items: the runs that edit the users' codes (item-SAE neurons) make sense. */
  onUserCodes: boolean;
  /** Unsteered top-(30+1) per measured user with their scores; +1 so "30th best other than X" is known. */
  base: Map<number, { top: Int32Array; scores: Float32Array }>;
  scores: Float32Array; // [nItems] scratch, overwritten by every call below
  choices: string[];
  uVec(u: number): Float32Array;
  /** Top `k` of user u's scores by `scorer` into `scores`, leaving out `ex` (default: u's training positives). */
  topOf(
    scorer: PairScorer,
    vec: Float32Array,
    itemEmb: Float32Array,
    u: number,
    k: number,
    ex?: Int32Array,
  ): Int32Array;
  /** Scores every item for user u under the compiled policies, as `recommend` does, into `scores`. */
  scoreSteered(compiled: ReturnType<typeof compilePolicies>, u: number): void;
  progress(fraction: number, message: string): void;
}

export function openSession(input: MeasureInput): MeasureSession {
  const { bundle, split } = input;
  const o = input.options ?? {};
  const ctx = steerContext(bundle);
  const model = bundle.recommender;
  const { dim } = ctx;
  const train = split.train;
  const choices: string[] = [];

  const maxUsers = o.maxUsers ?? (model.kind === 'mf' ? ctx.nUsers : 1000);
  let users = Int32Array.from({ length: ctx.nUsers }, (_, u) => u);
  if (maxUsers < ctx.nUsers) {
    users = new Rng(o.seed ?? 0).shuffle(users).subarray(0, maxUsers).sort();
    choices.push(`${maxUsers} of ${ctx.nUsers} users sampled (seed ${o.seed ?? 0}).`);
  }
  // The concept and popularity neurons are item-SAE neurons: with one SAE per side no user neuron stands
  // for them, so the runs that edit the users' codes are left out.
  const onUserCodes = bundle.sae.shared;
  if (!onUserCodes)
    choices.push(
      "One SAE per side: filtering and popularity runs on the users' codes left out (no user neuron carries the item SAE's concepts).",
    );

  const scores = new Float32Array(ctx.nItems);
  const session: MeasureSession = {
    bundle,
    split,
    train,
    o,
    ctx,
    model,
    itemCodes: input.itemCodes ?? ctx.itemCodes(),
    users,
    onUserCodes,
    base: new Map(),
    scores,
    choices,
    uVec: (u) => model.params.userEmb.subarray(u * dim, (u + 1) * dim),
    topOf(scorer, vec, itemEmb, u, k, ex) {
      scorer.scoreAll(u, vec, itemEmb, scores);
      return ex
        ? topKExcluding(scores, k, ex)
        : topKExcluding(scores, k, train.indices, train.indptr[u], train.indptr[u + 1]);
    },
    scoreSteered(compiled, u) {
      const su = steerUser(ctx, compiled, u);
      const items = steerItems(ctx, compiled);
      items.scorer.scoreAll(u, su.vec, items.itemEmb, scores);
      applyItemViews(ctx, compiled, su.itemViews, u, su.vec, items, scores);
    },
    progress: (fraction, message) =>
      o.onProgress?.({ stage: 'interventions', fraction, seconds: 0, message }),
  };

  for (const u of users) {
    o.signal?.throwIfAborted();
    const top = session.topOf(ctx.scorer, session.uVec(u), model.params.itemEmb, u, DEPTH + 1);
    session.base.set(u, { top, scores: Float32Array.from(top, (i) => scores[i]) });
  }
  session.progress(0.1, 'baseline lists');
  return session;
}
