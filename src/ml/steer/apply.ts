import type { ModelBundle } from '../bundle.ts';
import { MlError } from '../core/errors.ts';
import type { SteerContext, SteeredItems } from './context.ts';
import { writeEdited } from './edit.ts';
import {
  type EditOp,
  type Policy,
  policySide,
  policyTargets,
  resolveNeurons,
  segmentNeurons,
  validatePolicy,
} from './policy.ts';

/**
 * A policy resolved against one bundle.
 * - `side`: whose codes it edits. `userScoped`: it applies only to some users — user-side policies, and
 *   item-side ones aimed at users (suppress on items: the items as THESE users see them), called item
 *   views; item-side policies aimed at items are global and their edited matrix is cached.
 */
export interface CompiledPolicy {
  policy: Policy;
  side: 'user' | 'item';
  userScoped: boolean;
  mode: 'delta' | 'replace';
  neurons: Int32Array;
  op: EditOp;
  operands: Float64Array; // per neuron: factor (scale), amount (add) or value (set)
  all: boolean; // every user (userScoped) or every item (global item policy)
  ids: Set<number> | null; // user indices (userScoped) or item indices (global item policy)
  segment: { neurons: Int32Array; threshold: number } | null;
}

const compiledCache = new WeakMap<object, { bundle: ModelBundle; compiled: CompiledPolicy }>();

/**
 * Validates and resolves a policy for a bundle. Cached per policy object, so a stored policy passed on
 * every request compiles once.
 */
export function compilePolicy(ctx: SteerContext, policy: Policy, prefix = ''): CompiledPolicy {
  const hit = compiledCache.get(policy);
  if (hit && hit.bundle === ctx.bundle) return hit.compiled;
  const bundle = ctx.bundle;
  const p = validatePolicy(policy, bundle, prefix);
  const neurons = Int32Array.from(resolveNeurons(p, bundle, prefix));
  const side = policySide(p);
  const userScoped = policyTargets(p) === 'users';
  const operands = new Float64Array(neurons.length);
  let op: EditOp;
  const strength = p.strength ?? 0;
  switch (p.kind) {
    case 'suppress':
      op = 'scale';
      operands.fill(1 - strength);
      break;
    case 'boost':
    case 'promote': {
      op = 'add';
      // Skip the reference pass when it cannot matter (strength 0 is the identity).
      const ref = strength === 0 ? null : side === 'user' ? ctx.userRef() : ctx.itemRef();
      neurons.forEach((j, r) => {
        operands[r] = ref ? strength * ref[j] : 0;
      });
      break;
    }
    case 'popularity': {
      // Items: proportional, so each item moves with its own popularity activation (an equal shift of
      // every item would move every score of a user by the same amount and change no ranking).
      // Users: additive (σ·strength·ref), so it reaches users whose sparse code lacks the neuron.
      op = side === 'item' ? 'scale' : 'add';
      const info = new Map(bundle.neurons.map((n) => [n.index, n]));
      const ref = side === 'user' && strength !== 0 ? ctx.userRef() : null;
      neurons.forEach((j, r) => {
        const n = info.get(j);
        const sign = n && (n.label.startsWith('niche') || n.popPct50 > 50) ? -1 : 1;
        operands[r] = ref ? sign * strength * ref[j] : side === 'item' ? 1 + sign * strength : 0;
      });
      break;
    }
    case 'edit':
      op = p.op!;
      operands.fill(p.value!);
      break;
  }
  const index = userScoped ? bundle.dataset.users.index : bundle.dataset.items.index;
  const list = userScoped ? p.users : p.items;
  const compiled: CompiledPolicy = {
    policy: p,
    side,
    userScoped,
    mode: p.mode ?? 'delta',
    neurons,
    op,
    operands,
    all: p.all === true,
    ids: list ? new Set(list.map((id) => index.get(id)!)) : null,
    segment: p.segment
      ? { neurons: Int32Array.from(segmentNeurons(p, bundle, prefix)), threshold: p.segment.threshold }
      : null,
  };
  compiledCache.set(policy, { bundle, compiled });
  return compiled;
}

export function compilePolicies(ctx: SteerContext, policies: readonly Policy[]): CompiledPolicy[] {
  if (!Array.isArray(policies)) throw new MlError('BAD_POLICY', 'policies must be an array', 'policies');
  return policies.map((p, r) => compilePolicy(ctx, p, `policies[${r}].`));
}

/** Applies one compiled edit to a code in place. */
export function applyEdit(p: CompiledPolicy, z: Float32Array): void {
  const { neurons, operands, op } = p;
  for (let r = 0; r < neurons.length; r++) {
    const j = neurons[r];
    if (op === 'scale') z[j] *= operands[r];
    else if (op === 'add') z[j] += operands[r];
    else z[j] = operands[r];
  }
}

/** Does `p` target row `index` (a user when userScoped, else an item)? `code` is needed for segments. */
function targets(p: CompiledPolicy, index: number, code: Float32Array | null): boolean {
  if (p.all) return true;
  if (p.ids) return p.ids.has(index);
  if (p.segment && code) {
    for (const j of p.segment.neurons) if (code[j] > p.segment.threshold) return true;
  }
  return false;
}

/** A user's vector after the user-side policies, and the item views that apply to this user. */
export interface SteeredUser {
  vec: Float32Array; // [dim] the vector to score (the original row when nothing applied)
  code: Float32Array | null; // [latents] the original code, when it was computed
  editedCode: Float32Array | null; // [latents] after the edits, when any applied
  /** User-scoped item policies targeting this user, in order. */
  itemViews: CompiledPolicy[];
  /** Per policy (same order as given): did it target this user? Global item policies: false. */
  applied: boolean[];
}

/**
 * Order of composition. Policies apply in the order given, each to the code the previous ones left:
 * user-side edits on the user's code; item-side edits on each item's code — first the global item
 * policies (cached matrix), then this user's item views on top. Who a policy targets (ids, segment
 * threshold) is decided on the ORIGINAL codes, so earlier edits never move a row in or out of a later
 * policy's target. Each row is written once at the end: in replace mode if any policy that edited it
 * asked for it, else as a delta (item views are always deltas on top of the cached matrix).
 */
export function steerUser(ctx: SteerContext, compiled: readonly CompiledPolicy[], user: number): SteeredUser {
  const { dim } = ctx;
  const uVec = ctx.bundle.recommender.params.userEmb.subarray(user * dim, (user + 1) * dim);
  const applied = compiled.map(() => false);
  const scoped = compiled.some((p) => p.userScoped);
  const none: SteeredUser = { vec: uVec, code: null, editedCode: null, itemViews: [], applied };
  if (!scoped) return none;
  // Encode only when a segment must be checked or some policy targets this user.
  const needsCode = compiled.some((p) => p.userScoped && (p.segment !== null || targets(p, user, null)));
  if (!needsCode) return none;
  const code = ctx.encodeUser(uVec);
  let edited: Float32Array | null = null;
  let replace = false;
  const itemViews: CompiledPolicy[] = [];
  compiled.forEach((p, r) => {
    if (!p.userScoped || !targets(p, user, code)) return;
    applied[r] = true;
    if (p.side === 'item') {
      itemViews.push(p);
      return;
    }
    edited ??= code.slice();
    applyEdit(p, edited);
    if (p.mode === 'replace') replace = true;
  });
  if (!edited) return { vec: uVec, code, editedCode: null, itemViews, applied };
  const vec = writeEdited(
    ctx.userSae,
    uVec,
    code,
    edited,
    replace ? 'replace' : 'delta',
    new Float32Array(dim),
  );
  return { vec, code, editedCode: edited, itemViews, applied };
}

const globalItemPolicies = (compiled: readonly CompiledPolicy[]) =>
  compiled.filter((p) => p.side === 'item' && !p.userScoped);

/** The cache key of a policy set's global item side ("" when it has none). */
export function itemPolicyKey(compiled: readonly CompiledPolicy[]): string {
  const items = globalItemPolicies(compiled).map((p) => p.policy);
  return items.length === 0 ? '' : JSON.stringify(items);
}

/**
 * The item matrix after the global item policies, built once per distinct set and cached on the
 * context (keyed on the policies' content, which includes their `version`).
 */
export function steerItems(ctx: SteerContext, compiled: readonly CompiledPolicy[]): SteeredItems {
  const key = itemPolicyKey(compiled);
  const itemEmb = ctx.bundle.recommender.params.itemEmb;
  if (key === '') return { itemEmb, scorer: ctx.scorer, changed: false };
  const global = globalItemPolicies(compiled);
  return ctx.steeredItems(key, () => {
    const out = itemEmb.slice();
    const codes = ctx.itemCodes();
    const { dim, latents } = ctx;
    const edited = new Float32Array(latents);
    for (let i = 0; i < ctx.nItems; i++) {
      const code = codes.subarray(i * latents, (i + 1) * latents);
      const mode = editItemCode(global, i, code, edited);
      if (mode === null) continue;
      const row = out.subarray(i * dim, (i + 1) * dim);
      writeEdited(ctx.itemSae, itemEmb.subarray(i * dim, (i + 1) * dim), code, edited, mode, row);
    }
    return out;
  });
}

/**
 * Runs the global item edits targeting `item` on a copy of its code (into `out`); returns the write
 * mode, or null when no policy targets the item.
 */
export function editItemCode(
  compiled: readonly CompiledPolicy[],
  item: number,
  code: Float32Array,
  out: Float32Array,
): 'delta' | 'replace' | null {
  let mode: 'delta' | 'replace' | null = null;
  for (const p of compiled) {
    if (p.side !== 'item' || p.userScoped || !targets(p, item, code)) continue;
    if (mode === null) out.set(code);
    applyEdit(p, out);
    mode = p.mode === 'replace' || mode === 'replace' ? 'replace' : 'delta';
  }
  return mode;
}

/** An item's code after the global item policies (the original code when none targets it). */
export function steeredItemCode(
  ctx: SteerContext,
  compiled: readonly CompiledPolicy[],
  item: number,
): Float32Array {
  const { latents } = ctx;
  const code = ctx.itemCodes().subarray(item * latents, (item + 1) * latents);
  if (!compiled.some((p) => p.side === 'item' && !p.userScoped)) return code;
  const out = new Float32Array(latents);
  return editItemCode(compiled, item, code, out) === null ? code : out;
}

/** One item as a user's item views left it. */
export interface ViewedItem {
  vec: Float32Array; // [dim] the item vector this user's views left
  code: Float32Array; // [latents] its code after the views
}

/** A user's item views, resolved: re-scores the items they move and can replay any one of them. */
export interface ItemViews {
  /** Items the views moved (their scores were rewritten). */
  moved: number;
  /** The item as the views left it, or null when they do not move it (for explanations). */
  view(item: number): ViewedItem | null;
}

const NO_VIEWS: ItemViews = { moved: 0, view: () => null };

/**
 * Applies a user's item views: every item active on a view's neurons (the only ones a scale of those
 * neurons can move) is edited on top of the global matrix and re-scored with the frozen scorer into
 * `scores`. Only the views' neurons are visited and nothing is allocated per item, so the cost is
 * O(candidates × (view neurons × dim + one score)).
 */
export function applyItemViews(
  ctx: SteerContext,
  compiled: readonly CompiledPolicy[],
  views: readonly CompiledPolicy[],
  user: number,
  uVec: Float32Array,
  items: SteeredItems,
  scores: Float32Array,
): ItemViews {
  if (views.length === 0) return NO_VIEWS;
  const { dim } = ctx;
  const { W, inputScale } = ctx.itemSae.params;
  const s = inputScale[0];
  // Scaling a neuron moves only items on which it is active; a `set`, or a global add/set that may have
  // switched the neuron on for more items, makes every item a candidate.
  const neurons = [...new Set(views.flatMap((p) => Array.from(p.neurons)))].sort((a, b) => a - b);
  const everyItem =
    views.some((p) => p.op !== 'scale') ||
    globalItemPolicies(compiled).some(
      (p) => p.op !== 'scale' && Array.from(p.neurons).some((j) => neurons.includes(j)),
    );
  const candidates = everyItem ? null : ctx.itemsActiveOn(neurons);
  // A suppress view only weakens the concept's pull: with a dot-product scorer, neuron j moves item
  // scores by −α·z_ij·s·(u·W_j), so it is applied to the neurons with u·W_j > 0 and no concept item
  // can gain. (With an MLP scorer there is no such sign; every neuron is applied.)
  const skip = new Set<number>();
  if (ctx.bundle.recommender.kind === 'mf')
    for (const p of views)
      if (p.policy.kind === 'suppress')
        for (const j of p.neurons) {
          let pull = 0;
          for (let c = 0; c < dim; c++) pull += uVec[c] * W[j * dim + c];
          if (pull <= 0) skip.add(j);
        }
  const values = new Float64Array(ctx.latents); // running activation of the views' neurons
  const vec = new Float32Array(dim);
  /** Writes item i's viewed vector into `into`; false when the views leave it unchanged. */
  const edit = (i: number, into: Float32Array, code: Float32Array | null): boolean => {
    const base = steeredItemCode(ctx, compiled, i);
    for (const j of neurons) values[j] = base[j];
    for (const p of views) {
      const { neurons: pn, operands, op } = p;
      for (let r = 0; r < pn.length; r++) {
        const j = pn[r];
        if (p.policy.kind === 'suppress' && skip.has(j)) continue;
        if (op === 'scale') values[j] *= operands[r];
        else if (op === 'add') values[j] += operands[r];
        else values[j] = operands[r];
      }
    }
    into.set(items.itemEmb.subarray(i * dim, (i + 1) * dim));
    if (code) code.set(base);
    let changed = false;
    for (const j of neurons) {
      const a = Math.fround(values[j]);
      const diff = a - base[j];
      if (diff === 0) continue;
      changed = true;
      if (code) code[j] = a;
      const wo = j * dim;
      for (let c = 0; c < dim; c++) into[c] += diff * s * W[wo + c];
    }
    return changed;
  };
  let moved = 0;
  const visit = (i: number) => {
    if (!edit(i, vec, null)) return;
    scores[i] = items.scorer.score(user, i, uVec, vec);
    moved++;
  };
  if (candidates) for (const i of candidates) visit(i);
  else for (let i = 0; i < ctx.nItems; i++) visit(i);
  return {
    moved,
    view(i) {
      const out = { vec: new Float32Array(dim), code: new Float32Array(ctx.latents) };
      return edit(i, out.vec, out.code) ? out : null;
    },
  };
}
