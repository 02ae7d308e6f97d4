import type { ModelBundle } from '../bundle.ts';
import { MlError } from '../core/errors.ts';
import { encode } from '../sae/model.ts';
import type { SteerContext, SteeredItems } from './context.ts';
import { writeEdited } from './edit.ts';
import {
  type EditOp,
  type Policy,
  policySide,
  resolveNeurons,
  segmentNeurons,
  validatePolicy,
} from './policy.ts';

/** A policy resolved against one bundle: neurons, per-neuron operands and targets as index sets. */
export interface CompiledPolicy {
  policy: Policy;
  side: 'user' | 'item';
  mode: 'delta' | 'replace';
  neurons: Int32Array;
  op: EditOp;
  operands: Float64Array; // per neuron: factor (scale), amount (add) or value (set)
  all: boolean;
  ids: Set<number> | null; // user or item indices
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
      op = 'scale';
      const info = new Map(bundle.neurons.map((n) => [n.index, n]));
      neurons.forEach((j, r) => {
        const n = info.get(j);
        const sign = n && (n.label.startsWith('niche') || n.popPct50 > 50) ? -1 : 1;
        operands[r] = 1 + sign * strength;
      });
      break;
    }
    case 'edit':
      op = p.op!;
      operands.fill(p.value!);
      break;
  }
  const index = side === 'user' ? bundle.dataset.users.index : bundle.dataset.items.index;
  const list = side === 'user' ? p.users : p.items;
  const compiled: CompiledPolicy = {
    policy: p,
    side,
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
export function applyEdit(p: CompiledPolicy, z: Float32Array, off = 0): void {
  const { neurons, operands, op } = p;
  for (let r = 0; r < neurons.length; r++) {
    const j = off + neurons[r];
    if (op === 'scale') z[j] *= operands[r];
    else if (op === 'add') z[j] += operands[r];
    else z[j] = operands[r];
  }
}

function targets(p: CompiledPolicy, index: number, code: Float32Array | null, off: number): boolean {
  if (p.all) return true;
  if (p.ids) return p.ids.has(index);
  if (p.segment && code) {
    for (const j of p.segment.neurons) if (code[off + j] > p.segment.threshold) return true;
  }
  return false;
}

/** A user's vector after the user-side policies. */
export interface SteeredUser {
  vec: Float32Array; // [dim] the vector to score (the original row when nothing applied)
  code: Float32Array | null; // [latents] the original code, when it was computed
  editedCode: Float32Array | null; // [latents] after the edits, when any applied
  /** Per policy (same order as given): did it edit this user? Item-side policies: false. */
  applied: boolean[];
}

/**
 * Policies compose in the order given. User-side edits run on the user's code one after another (each
 * sees the previous edits' result); who a policy targets (ids, segment threshold) is decided on the
 * ORIGINAL code, so earlier edits never move a user in or out of a later policy's segment. The row is
 * written once at the end — in replace mode if any policy that edited it asked for it, else as a delta.
 */
export function steerUser(ctx: SteerContext, compiled: readonly CompiledPolicy[], user: number): SteeredUser {
  const { dim } = ctx;
  const uVec = ctx.bundle.recommender.params.userEmb.subarray(user * dim, (user + 1) * dim);
  const applied = compiled.map(() => false);
  const userSide = compiled.some((p) => p.side === 'user');
  if (!userSide) return { vec: uVec, code: null, editedCode: null, applied };
  // The code is needed for segments or for any edit; cheap-to-decide targets are checked first.
  const needsCode = compiled.some(
    (p) => p.side === 'user' && (p.segment !== null || targets(p, user, null, 0)),
  );
  if (!needsCode) return { vec: uVec, code: null, editedCode: null, applied };
  const code = encode(ctx.userSae, uVec, 1);
  let edited: Float32Array | null = null;
  let replace = false;
  compiled.forEach((p, r) => {
    if (p.side !== 'user' || !targets(p, user, code, 0)) return;
    edited ??= code.slice();
    applyEdit(p, edited);
    applied[r] = true;
    if (p.mode === 'replace') replace = true;
  });
  if (!edited) return { vec: uVec, code, editedCode: null, applied };
  const vec = writeEdited(
    ctx.userSae,
    uVec,
    code,
    edited,
    replace ? 'replace' : 'delta',
    new Float32Array(dim),
  );
  return { vec, code, editedCode: edited, applied };
}

/** The cache key of a policy set's item side ("" when it has none). */
export function itemPolicyKey(compiled: readonly CompiledPolicy[]): string {
  const items = compiled.filter((p) => p.side === 'item').map((p) => p.policy);
  return items.length === 0 ? '' : JSON.stringify(items);
}

/**
 * The item matrix after the item-side policies, built once per distinct item-side policy set and cached
 * on the context (keyed on the policies' content, which includes their `version`).
 */
export function steerItems(ctx: SteerContext, compiled: readonly CompiledPolicy[]): SteeredItems {
  const key = itemPolicyKey(compiled);
  const itemEmb = ctx.bundle.recommender.params.itemEmb;
  if (key === '') return { itemEmb, scorer: ctx.scorer, changed: false };
  const itemSide = compiled.filter((p) => p.side === 'item');
  return ctx.steeredItems(key, () => {
    const out = itemEmb.slice();
    const codes = ctx.itemCodes();
    const { dim, latents } = ctx;
    const edited = new Float32Array(latents);
    for (let i = 0; i < ctx.nItems; i++) {
      const code = codes.subarray(i * latents, (i + 1) * latents);
      const mode = editItemCode(itemSide, i, code, edited);
      if (mode === null) continue;
      writeEdited(
        ctx.itemSae,
        itemEmb.subarray(i * dim, (i + 1) * dim),
        code,
        edited,
        mode,
        out.subarray(i * dim, (i + 1) * dim),
      );
    }
    return out;
  });
}

/**
 * Runs the item-side edits targeting `item` on a copy of its code (into `out`); returns the write mode,
 * or null when no policy targets the item.
 */
export function editItemCode(
  compiled: readonly CompiledPolicy[],
  item: number,
  code: Float32Array,
  out: Float32Array,
): 'delta' | 'replace' | null {
  let mode: 'delta' | 'replace' | null = null;
  for (const p of compiled) {
    if (p.side !== 'item' || !targets(p, item, code, 0)) continue;
    if (mode === null) out.set(code);
    applyEdit(p, out);
    if (p.mode === 'replace' || mode === 'replace') mode = 'replace';
    else mode = 'delta';
  }
  return mode;
}

/** An item's code after the item-side policies (the original code when none targets it). */
export function steeredItemCode(
  ctx: SteerContext,
  compiled: readonly CompiledPolicy[],
  item: number,
): Float32Array {
  const { latents } = ctx;
  const code = ctx.itemCodes().subarray(item * latents, (item + 1) * latents);
  const out = new Float32Array(latents);
  return editItemCode(compiled, item, code, out) === null ? code : out;
}
