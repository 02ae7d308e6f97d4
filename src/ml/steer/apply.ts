import type { ModelBundle } from '../bundle.ts';
import { MlError } from '../core/errors.ts';
import { pullOf, type SteerContext, type SteeredItems } from './context.ts';
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
  /** Edits nothing (scales by 1 or adds 0, e.g. strength 0; in either mode): skipped, never `applied`. */
  identity: boolean;
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
      const ref = side === 'user' && strength !== 0 ? ctx.userRef() : null;
      const signs = side === 'user' ? ctx.userPopularitySign : ctx.popularitySign;
      neurons.forEach((j, r) => {
        const sign = signs[j];
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
    // In replace mode too: strength 0 is documented as the identity (replace would otherwise swap the
    // targeted rows for their reconstruction without editing anything).
    identity:
      (op === 'scale' && operands.every((x) => x === 1)) || (op === 'add' && operands.every((x) => x === 0)),
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
  // Encode only when a segment must be checked or a user-side policy targets this user (item views
  // need no user code; explanations fetch the memoised one).
  const needsCode = compiled.some(
    (p) => p.userScoped && (p.segment !== null || (p.side === 'user' && targets(p, user, null))),
  );
  const code = needsCode ? ctx.userCode(user) : null;
  let edited: Float32Array | null = null;
  let replace = false;
  const itemViews: CompiledPolicy[] = [];
  compiled.forEach((p, r) => {
    if (!p.userScoped || p.identity || !targets(p, user, code)) return;
    applied[r] = true;
    if (p.side === 'item') {
      itemViews.push(p);
      return;
    }
    edited ??= (code as Float32Array).slice(); // a user-side policy targeting the user implies needsCode
    applyEdit(p, edited);
    if (p.mode === 'replace') replace = true;
  });
  // An edit that left the code as it was (a scale of an inactive neuron) writes the row back bit for bit
  // in delta mode: the user's own vector, so not steered (and the candidate list still answers).
  if (!edited || !code || (!replace && sameCode(edited, code)))
    return { vec: uVec, code, editedCode: null, itemViews, applied };
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

function sameCode(a: Float32Array, b: Float32Array): boolean {
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}

const globalItemPolicies = (compiled: readonly CompiledPolicy[]) =>
  compiled.filter((p) => p.side === 'item' && !p.userScoped && !p.identity);

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
  /** Whether the views moved any item (rewrote its score). */
  anyMoved: boolean;
  /** The item as the views left it, or null when they do not move it (for explanations). */
  view(item: number): ViewedItem | null;
}

/** No item views: nothing moved. */
export const NO_VIEWS: ItemViews = { anyMoved: false, view: () => null };

/**
 * A user's item views resolved for one request: per neuron, the views' ops composed into one affine map
 * a ↦ m·a + c (identity maps dropped), with the neuron's MF pull s·(u·W_j).
 */
export class ItemViewPlan {
  /** Neurons the views move, ascending; m, c, pull aligned with them. */
  readonly neurons: number[];
  readonly m: number[];
  readonly c: number[];
  readonly pull: number[];
  readonly isMf: boolean;
  private readonly global: CompiledPolicy[];
  /** Neurons the global item policies edit (null when there are none: the usual case). */
  private readonly globallyEdited: Set<number> | null;

  constructor(
    private readonly ctx: SteerContext,
    private readonly compiled: readonly CompiledPolicy[],
    maps: { neurons: number[]; m: number[]; c: number[]; pull: number[] },
    private readonly uVec: Float32Array,
    private readonly items: SteeredItems,
    /** The views planned (compiled item-side policies aimed at this user). */
    readonly planned: readonly CompiledPolicy[],
  ) {
    this.isMf = ctx.bundle.recommender.kind === 'mf';
    ({ neurons: this.neurons, m: this.m, c: this.c, pull: this.pull } = maps);
    this.global = globalItemPolicies(compiled);
    this.globallyEdited =
      this.global.length > 0 ? new Set(this.global.flatMap((p) => Array.from(p.neurons))) : null;
  }

  /** Whether the views move any item at all (some active item whose activation the maps change). */
  movesAnyItem(): boolean {
    for (let r = 0; r < this.neurons.length; r++) {
      if (this.movesAll(r)) return true;
      const acts = this.ctx.itemActivationsOnNeuron(this.neurons[r]);
      for (let t = 0; t < acts.length; t++)
        if (Math.fround(this.m[r] * acts[t] + this.c[r]) !== acts[t]) return true;
    }
    return false;
  }

  /** Item i's activation of neuron j before the views (after the global item policies). */
  before(i: number, j: number): number {
    return this.globallyEdited?.has(j)
      ? steeredItemCode(this.ctx, this.compiled, i)[j]
      : this.ctx.itemCodes()[i * this.ctx.latents + j];
  }

  /** Whether the r-th neuron's map moves every item (an add/set, or a global add/set on it). */
  movesAll(r: number): boolean {
    const j = this.neurons[r];
    return this.c[r] !== 0 || this.global.some((p) => p.op !== 'scale' && p.neurons.includes(j));
  }

  /** Whether only items active on the views' neurons can move (no map moves every item). */
  get sparse(): boolean {
    for (let r = 0; r < this.neurons.length; r++) if (this.movesAll(r)) return false;
    return true;
  }

  /**
   * Whether the views can only lower MF scores: scale-only maps on unedited codes (activations ≥ 0) with
   * (m − 1)·pull ≤ 0 — every suppress view. Then no unlisted item can rise into a candidate list.
   */
  get onlyLowers(): boolean {
    if (!this.isMf || this.global.length > 0 || !this.ctx.itemSparseCodes().nonNegative) return false;
    for (let r = 0; r < this.neurons.length; r++)
      if (this.c[r] !== 0 || (this.m[r] - 1) * this.pull[r] > 0) return false;
    return true;
  }

  /** Item i as the views leave it, into `vec` (and `code`); false when they leave it unchanged. */
  editViewed(i: number, vec: Float32Array, code: Float32Array | null): boolean {
    const { dim } = this.ctx;
    const { W, inputScale } = this.ctx.itemSae.params;
    const s = inputScale[0];
    vec.set(this.items.itemEmb.subarray(i * dim, (i + 1) * dim));
    if (code) code.set(steeredItemCode(this.ctx, this.compiled, i));
    let changed = false;
    for (let r = 0; r < this.neurons.length; r++) {
      const j = this.neurons[r];
      const a = this.before(i, j);
      const a2 = Math.fround(this.m[r] * a + this.c[r]);
      const d = a2 - a;
      if (d === 0) continue;
      changed = true;
      if (code) code[j] = a2;
      const wo = j * dim;
      for (let k = 0; k < dim; k++) vec[k] += d * s * W[wo + k];
    }
    return changed;
  }

  /** The ItemViews handle for explanations, given whether the views moved any item. */
  views(anyMoved: boolean): ItemViews {
    return new PlanViews(this, anyMoved);
  }

  /** Item i as the views leave it, or null when they leave it unchanged. */
  viewOf(i: number): ViewedItem | null {
    const out = { vec: new Float32Array(this.ctx.dim), code: new Float32Array(this.ctx.latents) };
    return this.editViewed(i, out.vec, out.code) ? out : null;
  }

  /** Re-scores every item the views move into `scores` (the whole catalogue's scores). */
  applyAll(user: number, scores: Float32Array): ItemViews {
    return this.views(this.isMf ? this.applyAllMf(scores) : this.applyAllMlp(user, scores));
  }

  /**
   * MF in closed form, neuron by neuron (ascending): the items active on the neuron from the per-neuron
   * lists, every item for a map that moves them all. No closures: this is the request path whenever the
   * candidate list cannot answer.
   */
  private applyAllMf(scores: Float32Array): boolean {
    const { nItems } = this.ctx;
    let moved = false;
    for (let r = 0; r < this.neurons.length; r++) {
      const j = this.neurons[r];
      const m = this.m[r];
      const c = this.c[r];
      const pull = this.pull[r];
      const all = this.movesAll(r);
      const edited = this.globallyEdited?.has(j) ?? false;
      const active = all ? null : this.ctx.itemsActiveOnNeuron(j);
      const acts = all || edited ? null : this.ctx.itemActivationsOnNeuron(j);
      const n = active ? active.length : nItems;
      for (let t = 0; t < n; t++) {
        const i = active ? active[t] : t;
        const a = acts ? acts[t] : this.before(i, j);
        const d = Math.fround(m * a + c) - a;
        if (d === 0) continue;
        scores[i] += d * pull;
        moved = true;
      }
    }
    return moved;
  }

  /** An MLP re-scores each moved item with the frozen scorer. */
  private applyAllMlp(user: number, scores: Float32Array): boolean {
    const vec = new Float32Array(this.ctx.dim);
    const candidates = this.sparse ? this.ctx.itemsActiveOn(this.neurons) : null;
    const n = candidates ? candidates.length : this.ctx.nItems;
    let moved = false;
    for (let t = 0; t < n; t++) {
      const i = candidates ? candidates[t] : t;
      if (!this.editViewed(i, vec, null)) continue;
      scores[i] = this.items.scorer.score(user, i, this.uVec, vec);
      moved = true;
    }
    return moved;
  }
}

// A class, not an object literal with an arrow: tsx names every arrow it creates (keepNames), and on the
// steering hot path that per-request defineProperty cost more than the object itself.
class PlanViews implements ItemViews {
  constructor(
    private readonly plan: ItemViewPlan,
    readonly anyMoved: boolean,
  ) {}

  view(item: number): ViewedItem | null {
    return this.plan.viewOf(item);
  }
}

/**
 * Resolves a user's item views into a plan, or null when they move nothing.
 *
 * Every op acts on one neuron alone, so the views compose per neuron into one affine map
 * a ↦ m·a + c. A scale-only map moves just the items on which the neuron is active; an add/set (c ≠ 0),
 * or a global add/set on the same neuron, moves every item. A suppress view only weakens the concept's
 * pull: with MF, neuron j moves item scores by (a' − a)·s·(u·W_j), so it is applied only where
 * u·W_j > 0 and no item can gain (with an MLP there is no such sign; every neuron is applied).
 */
export function planItemViews(
  ctx: SteerContext,
  compiled: readonly CompiledPolicy[],
  views: readonly CompiledPolicy[],
  uVec: Float32Array,
  items: SteeredItems,
  /** The user whose own (unedited) row `uVec` is, or −1: then one view's pulls come from a per-user cache. */
  ownRowOf = -1,
): ItemViewPlan | null {
  if (views.length === 0) return null;
  const { dim } = ctx;
  const { W, inputScale } = ctx.itemSae.params;
  const s = inputScale[0];
  const isMf = ctx.bundle.recommender.kind === 'mf';
  const cached =
    isMf && ownRowOf >= 0 && views.length === 1 ? ctx.userPulls(views[0].neurons, ownRowOf) : null;
  // Per neuron, in order of first appearance: position in the arrays via the context's slot table
  // (reset before returning), no Map or object per neuron.
  const slot = ctx.neuronSlots();
  const neurons: number[] = [];
  const m: number[] = [];
  const c: number[] = [];
  const pull: number[] = [];
  for (const p of views) {
    const { neurons: js, operands, op } = p;
    const suppress = isMf && p.policy.kind === 'suppress';
    for (let r = 0; r < js.length; r++) {
      const j = js[r];
      let q = slot[j];
      if (q < 0) {
        const pl = cached ? cached[r] : isMf ? pullOf(uVec, W, j, dim, s) : 0;
        if (suppress && pl <= 0) continue;
        q = neurons.length;
        slot[j] = q;
        neurons.push(j);
        m.push(1);
        c.push(0);
        pull.push(pl);
      }
      const v = operands[r];
      if (op === 'scale') {
        m[q] *= v;
        c[q] *= v;
      } else if (op === 'add') c[q] += v;
      else {
        m[q] = 0;
        c[q] = v;
      }
    }
  }
  for (const j of neurons) slot[j] = -1;
  // Identity maps dropped; the rest in ascending neuron order (the full pass's order).
  const keep: number[] = [];
  for (let q = 0; q < neurons.length; q++) if (m[q] !== 1 || c[q] !== 0) keep.push(q);
  if (keep.length === 0) return null;
  let ascending = true;
  for (let t = 1; t < keep.length; t++) if (neurons[keep[t]] < neurons[keep[t - 1]]) ascending = false;
  if (!ascending) keep.sort((x, y) => neurons[x] - neurons[y]);
  const maps =
    keep.length === neurons.length && ascending
      ? { neurons, m, c, pull }
      : {
          neurons: keep.map((q) => neurons[q]),
          m: keep.map((q) => m[q]),
          c: keep.map((q) => c[q]),
          pull: keep.map((q) => pull[q]),
        };
  return new ItemViewPlan(ctx, compiled, maps, uVec, items, views);
}

/**
 * Applies a user's item views and re-scores what they move into `scores` (see `planItemViews`).
 * MF re-scores in closed form — Δscore_i = Σ_j (a'_ij − a_ij)·s·(u·W_j), one multiply-add per (item,
 * active neuron) — and an MLP re-scores each moved item with the frozen scorer.
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
  const plan = planItemViews(ctx, compiled, views, uVec, items);
  return plan ? plan.applyAll(user, scores) : NO_VIEWS;
}
