import type { ModelBundle } from '../bundle.ts';
import type { NeuronInfo } from '../concepts/types.ts';
import { MlError } from '../core/errors.ts';

/**
 * A steering policy: JSON data the service stores and applies per request. Every policy edits SAE codes
 * of users or items (never the recommender) and names its neuron(s) by index (`neuron`) or by concept
 * (`concept`, resolved through the bundle's neuron labels, see `resolveNeurons`).
 *
 * Strength semantics (strength 0 is always the identity; several policies compose in order, see steerUser, so
 * two suppresses of one neuron multiply their factors, and two above 1 raise it):
 * - suppress   z'_j = (1 − strength)·z_j   (1 silences the neuron, > 1 pushes against it), for the targeted
 *              users, on `on: 'items'` (default) the codes of the items as this user sees them — only
 *              items carrying the neuron move, nothing else in the list does; with MF only the neurons
 *              that pull this user's scores up (u·W_j > 0) are scaled, so no item can gain — or on
 *              `on: 'users'` the user's own code (the paper's way; shifts the user's whole vector)
 * - boost      (users)  z'_j = z_j + strength·ref_j        ref_j = the neuron's largest activation over users
 * - promote    (items)  z'_j = z_j + strength·ref_j        ref_j = the neuron's largest activation over items
 *              (with MF the item rises for users whose pull on the neuron, u·W_j, is positive — the ones the
 *              neuron speaks to — and falls for the others; popularity on items likewise, as in the paper)
 * - popularity (every item, or users) on the popularity neuron(s), σ_j = +1 for a neuron that fires on
 *   popular items, −1 for one labelled "niche" (or whose top-50 items sit above the 50th popularity
 *   percentile; σ_j = +1 for a user-SAE neuron when the SAEs are separate: the labels describe the item
 *   SAE's); strength < 0 dampens popularity, > 0 amplifies it:
 *     on items  z'_j = (1 + σ_j·strength)·z_j         (each item moves with its own activation)
 *     on users  z'_j = z_j + σ_j·strength·ref_j       (ref_j as for boost; additive, so it reaches users
 *                                                      whose sparse code does not carry the neuron)
 * - edit       low level: side 'user' | 'item', op set | scale | add with `value`
 *
 * Who is edited: `users` (dataset user ids), `segment` (users whose ORIGINAL code has any of the policy's
 * neurons — or `segment.neuron`/`segment.concept` — above `threshold`), `items` (dataset item ids), or
 * `all: true` (every user / item of the side; the default for popularity).
 *
 * Mode: 'delta' (default) writes e' = e + D(z') − D(z), with D the decoder's linear part, so an empty
 * edit is exactly the identity and rows the policy does not target are untouched; 'replace' writes
 * e' = D(z') + b_pre as in the paper (the row then carries the SAE's reconstruction error). An edit that
 * changes no code (strength 0, scale by 1, add 0) is skipped in both modes, so strength 0 stays the identity;
 * any other strength in replace mode also swaps the targeted rows for their reconstruction. Suppress on
 * items is delta only (its items are edited per user, see above).
 *
 * On MF, promote (or an item-side add) with `all: true` is refused in either mode: the same vector added
 * to every item shifts each user's scores by one constant, which reorders nothing (in replace mode lists
 * would move only because every item is swapped for its reconstruction, whatever the strength).
 */
export type PolicyKind = 'suppress' | 'boost' | 'promote' | 'popularity' | 'edit';
export type EditOp = 'set' | 'scale' | 'add';

export interface Segment {
  threshold: number;
  neuron?: number;
  concept?: string;
}

export interface Policy {
  kind: PolicyKind;
  /** Name the service stores it under; echoed in responses. */
  id?: string;
  /** Bumped by the service on every change; part of the item-edit cache key. */
  version?: number;
  neuron?: number;
  concept?: string;
  /** suppress / boost / promote / popularity. */
  strength?: number;
  /** edit only. */
  side?: 'user' | 'item';
  op?: EditOp;
  value?: number;
  /** Targets (see above). */
  users?: string[];
  items?: string[];
  segment?: Segment;
  all?: boolean;
  /** popularity and suppress: edit the users' or the items' codes (default 'items'). */
  on?: 'users' | 'items';
  mode?: 'delta' | 'replace';
}

const KINDS: readonly PolicyKind[] = ['suppress', 'boost', 'promote', 'popularity', 'edit'];
const OPS: readonly EditOp[] = ['set', 'scale', 'add'];
const KEYS = new Set([
  'kind',
  'id',
  'version',
  'neuron',
  'concept',
  'strength',
  'side',
  'op',
  'value',
  'users',
  'items',
  'segment',
  'all',
  'on',
  'mode',
]);

/**
 * Whom a policy is aimed at: users (suppress, boost, user-side edits and popularity on users — by ids,
 * segment or all) or items (promote, item-side edits, popularity on items — by ids or all).
 */
export function policyTargets(p: Policy): 'users' | 'items' {
  if (p.kind === 'suppress' || p.kind === 'boost') return 'users';
  return policySide(p) === 'user' ? 'users' : 'items';
}

/** The side whose codes a policy edits. */
export function policySide(p: Policy): 'user' | 'item' {
  switch (p.kind) {
    case 'suppress':
      return p.on === 'users' ? 'user' : 'item';
    case 'boost':
      return 'user';
    case 'promote':
      return 'item';
    case 'popularity':
      return p.on === 'users' ? 'user' : 'item';
    case 'edit':
      return p.side === 'item' ? 'item' : 'user';
  }
}

/**
 * Neurons a concept names: those whose label equals it or whose `concept` tag equals it
 * (case-insensitive) — so "Horror" also names "1980s Horror" and "niche Horror". 'popularity' with no
 * such neuron names every neuron of kind 'popularity'. Throws UNKNOWN_CONCEPT naming the concept when
 * nothing matches.
 */
export function resolveConcept(neurons: readonly NeuronInfo[], concept: string, field = 'concept'): number[] {
  const key = concept.trim().toLowerCase();
  let memo = conceptMemo.get(neurons);
  if (!memo) conceptMemo.set(neurons, (memo = new Map()));
  let hit = memo.get(key);
  if (!hit) {
    hit = matchConcept(neurons, key);
    // Only names that match are kept: they are bounded by the labels, while misses are whatever callers
    // send (every unknown concept in a request would otherwise stay in memory for the model's life).
    if (hit.length > 0) memo.set(key, hit);
  }
  if (hit.length === 0)
    throw new MlError('UNKNOWN_CONCEPT', `no neuron is labelled with concept "${concept}"`, field);
  return hit.slice();
}

/** Concepts resolved to at least one neuron, per neuron list (a bundle's labels do not change once built). */
const conceptMemo = new WeakMap<readonly NeuronInfo[], Map<string, number[]>>();

/** How many concept names are memoised for a neuron list (diagnostics; tests hold it bounded). */
export function memoisedConcepts(neurons: readonly NeuronInfo[]): number {
  return conceptMemo.get(neurons)?.size ?? 0;
}

function matchConcept(neurons: readonly NeuronInfo[], key: string): number[] {
  let hits = neurons.filter((n) => n.label.toLowerCase() === key || n.concept?.toLowerCase() === key);
  if (hits.length === 0 && key === 'popularity') hits = neurons.filter((n) => n.kind === 'popularity');
  return hits.map((n) => n.index).sort((a, b) => a - b);
}

/**
 * Labels describe the item SAE's neurons (concept discovery reads item codes). With one SAE per side
 * (`shared: false`) the user SAE's neuron j is a different dictionary atom, so a label cannot name it.
 */
function requireSharedSae(bundle: ModelBundle, field: string, what: string, instead: string): void {
  if (!bundle.sae.shared)
    throw new MlError(
      'BAD_POLICY',
      `${what} names item-SAE neurons, but this model's user SAE is separate (trained with shared: false); ${instead}`,
      field,
    );
}

const BY_INDEX = 'name a user-SAE neuron by index instead';

/**
 * The neuron indices a policy edits (popularity without neuron/concept: every popularity neuron), on the
 * side whose codes it edits.
 */
export function resolveNeurons(p: Policy, bundle: ModelBundle, prefix = ''): number[] {
  const latents = bundle.sae.user.config.latents;
  if (p.neuron !== undefined) {
    if (!Number.isInteger(p.neuron) || p.neuron < 0 || p.neuron >= latents)
      throw new MlError(
        'UNKNOWN_NEURON',
        `neuron ${p.neuron} does not exist (the SAE has ${latents} latents)`,
        `${prefix}neuron`,
      );
    return [p.neuron];
  }
  const userCodes = policySide(p) === 'user';
  if (p.concept !== undefined) {
    if (userCodes) requireSharedSae(bundle, `${prefix}concept`, `concept "${p.concept}"`, BY_INDEX);
    return resolveConcept(bundle.neurons, p.concept, `${prefix}concept`);
  }
  if (p.kind === 'popularity') {
    if (userCodes)
      requireSharedSae(bundle, `${prefix}neuron`, 'a popularity policy without a neuron', BY_INDEX);
    const pop = bundle.neurons.filter((n) => n.kind === 'popularity').map((n) => n.index);
    if (pop.length === 0)
      throw new MlError('UNKNOWN_CONCEPT', 'no neuron is labelled as a popularity neuron', `${prefix}neuron`);
    return pop.sort((a, b) => a - b);
  }
  throw new MlError('BAD_POLICY', 'a policy needs `neuron` or `concept`', `${prefix}neuron`);
}

const bad = (message: string, field: string): MlError => new MlError('BAD_POLICY', message, field);

/**
 * Largest |strength| or |value| a policy may carry. Effects saturate long before it (strength 1 already
 * silences a neuron or adds its largest activation), and far beyond it float32 scores overflow to
 * infinity and every list comes back empty.
 */
export const POLICY_MAGNITUDE_LIMIT = 1000;

function bounded(v: unknown, field: string): number {
  const x = finite(v, field);
  if (Math.abs(x) > POLICY_MAGNITUDE_LIMIT)
    throw bad(`${field} must be within ±${POLICY_MAGNITUDE_LIMIT}, got ${x}`, field);
  return x;
}

function finite(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${field} must be a finite number`, field);
  return v === 0 ? 0 : v; // -0 does not survive JSON
}

function idList(
  v: unknown,
  field: string,
  map: Map<string, number>,
  code: 'UNKNOWN_USER' | 'UNKNOWN_ITEM',
): string[] {
  if (!Array.isArray(v) || v.length === 0) throw bad(`${field} must be a non-empty array of ids`, field);
  return v.map((id, r) => {
    const s = typeof id === 'number' ? String(id) : id;
    if (typeof s !== 'string') throw bad(`${field}[${r}] must be a string id`, `${field}[${r}]`);
    if (!map.has(s)) throw new MlError(code, `${field}[${r}]: unknown id "${s}"`, `${field}[${r}]`);
    return s;
  });
}

/**
 * Checks untrusted JSON against the bundle and returns a clean `Policy` (ids as strings, no unknown
 * keys). Errors are MlError naming the offending field (prefixed by `prefix`, e.g. "policies[2].").
 */
export function validatePolicy(policy: unknown, bundle: ModelBundle, prefix = ''): Policy {
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy))
    throw bad('a policy must be a JSON object', prefix.replace(/\.$/, '') || 'policy');
  const raw = policy as Record<string, unknown>;
  const f = (name: string): string => `${prefix}${name}`;
  for (const key of Object.keys(raw)) if (!KEYS.has(key)) throw bad(`unknown policy field "${key}"`, f(key));
  const kind = raw.kind as PolicyKind;
  if (!KINDS.includes(kind)) throw bad(`kind must be one of ${KINDS.join(', ')}`, f('kind'));
  const out: Policy = { kind };
  if (raw.id !== undefined) {
    if (typeof raw.id !== 'string' || raw.id.length === 0 || raw.id.length > 200)
      throw bad('id must be a non-empty string (≤ 200 chars)', f('id'));
    out.id = raw.id;
  }
  if (raw.version !== undefined) {
    if (!Number.isInteger(raw.version) || (raw.version as number) < 0)
      throw bad('version must be a non-negative integer', f('version'));
    out.version = raw.version as number;
  }
  if (raw.mode !== undefined) {
    if (raw.mode !== 'delta' && raw.mode !== 'replace')
      throw bad("mode must be 'delta' or 'replace'", f('mode'));
    out.mode = raw.mode;
  }
  if (raw.neuron !== undefined && raw.concept !== undefined)
    throw bad('give either neuron or concept, not both', f('concept'));
  if (raw.neuron !== undefined) {
    if (typeof raw.neuron !== 'number') throw bad('neuron must be an integer index', f('neuron'));
    out.neuron = raw.neuron;
  }
  if (raw.concept !== undefined) {
    if (typeof raw.concept !== 'string' || raw.concept.trim() === '')
      throw bad('concept must be a non-empty string', f('concept'));
    out.concept = raw.concept;
  }

  if (kind === 'edit') {
    if (raw.side !== 'user' && raw.side !== 'item') throw bad("side must be 'user' or 'item'", f('side'));
    out.side = raw.side;
    if (!OPS.includes(raw.op as EditOp)) throw bad(`op must be one of ${OPS.join(', ')}`, f('op'));
    out.op = raw.op as EditOp;
    out.value = bounded(raw.value, f('value'));
    if (raw.strength !== undefined) throw bad('edit policies take `value`, not `strength`', f('strength'));
  } else {
    out.strength = bounded(raw.strength, f('strength'));
    if ((kind === 'suppress' || kind === 'boost' || kind === 'promote') && out.strength < 0)
      throw bad(`${kind} strength must be ≥ 0`, f('strength'));
    for (const k of ['side', 'op', 'value'] as const)
      if (raw[k] !== undefined) throw bad(`${k} belongs to edit policies only`, f(k));
  }
  if (kind === 'popularity' || kind === 'suppress') {
    if (raw.on !== undefined && raw.on !== 'users' && raw.on !== 'items')
      throw bad("on must be 'users' or 'items'", f('on'));
    out.on = (raw.on as 'users' | 'items' | undefined) ?? 'items';
  } else if (raw.on !== undefined) throw bad('on belongs to popularity and suppress policies only', f('on'));

  const side = policyTargets(out) === 'users' ? 'user' : 'item';
  const targets = ['users', 'items', 'segment', 'all'].filter((k) => raw[k] !== undefined);
  if (targets.length > 1) throw bad(`give one target, got ${targets.join(' and ')}`, f(targets[1]));
  if (side === 'user') {
    if (raw.items !== undefined) throw bad('this policy edits users; items is not a target here', f('items'));
    if (raw.users !== undefined)
      out.users = idList(raw.users, f('users'), bundle.dataset.users.index, 'UNKNOWN_USER');
    if (raw.segment !== undefined) {
      const seg = raw.segment as Record<string, unknown>;
      if (seg === null || typeof seg !== 'object') throw bad('segment must be an object', f('segment'));
      for (const key of Object.keys(seg))
        if (key !== 'threshold' && key !== 'neuron' && key !== 'concept')
          throw bad(`unknown segment field "${key}"`, f(`segment.${key}`));
      const s: Segment = { threshold: finite(seg.threshold, f('segment.threshold')) };
      if (seg.neuron !== undefined && seg.concept !== undefined)
        throw bad('give either neuron or concept, not both', f('segment.concept'));
      if (seg.neuron !== undefined) s.neuron = seg.neuron as number;
      if (seg.concept !== undefined) {
        if (typeof seg.concept !== 'string')
          throw bad('segment.concept must be a string', f('segment.concept'));
        s.concept = seg.concept;
      }
      out.segment = s;
    }
  } else {
    if (raw.users !== undefined || raw.segment !== undefined)
      throw bad(
        'this policy edits items; users/segment are not targets here',
        f(raw.users !== undefined ? 'users' : 'segment'),
      );
    if (raw.items !== undefined)
      out.items = idList(raw.items, f('items'), bundle.dataset.items.index, 'UNKNOWN_ITEM');
  }
  if (raw.all !== undefined) {
    if (raw.all !== true) throw bad('all must be true when given', f('all'));
    out.all = true;
  }
  const targeted = out.users || out.items || out.segment || out.all;
  if (!targeted) {
    if (kind === 'popularity') out.all = true;
    else
      throw bad(
        `a ${kind} policy needs a target (${side === 'user' ? 'users, segment' : 'items'} or all)`,
        f(side === 'user' ? 'users' : 'items'),
      );
  }
  if (kind === 'suppress' && out.on === 'items' && out.mode === 'replace')
    throw bad(
      "mode 'replace' is not available for suppress on items: each user's items are edited as that user " +
        "sees them, by delta, so that only items carrying the neuron move; use on: 'users' for the paper's replace",
      f('mode'),
    );
  if (bundle.recommender.kind === 'mf' && out.all && addsToEveryItem(out))
    throw bad(
      `on an MF model, adding the same vector to every item moves each user's scores by one constant and ` +
        `changes no list; name the items to ${kind === 'promote' ? 'promote' : 'edit'} (items)`,
      f('all'),
    );
  // Resolve now so unknown neurons/concepts fail at validation time, naming the field.
  resolveNeurons(out, bundle, prefix);
  if (out.segment) segmentNeurons(out, bundle, prefix);
  return out;
}

/** Item edits that add one constant to a neuron of every targeted item's code. */
const addsToEveryItem = (p: Policy): boolean =>
  p.kind === 'promote' || (p.kind === 'edit' && p.side === 'item' && p.op === 'add');

/** Validates a list, prefixing fields with "policies[i].". */
export function validatePolicies(policies: unknown, bundle: ModelBundle): Policy[] {
  if (!Array.isArray(policies)) throw bad('policies must be an array', 'policies');
  return policies.map((p, r) => validatePolicy(p, bundle, `policies[${r}].`));
}

/**
 * The neurons a segment is decided on (in the users' codes): its own neuron/concept, else the policy's
 * neurons.
 */
export function segmentNeurons(p: Policy, bundle: ModelBundle, prefix = ''): number[] {
  const seg = p.segment!;
  if (seg.neuron !== undefined || seg.concept !== undefined)
    return resolveNeurons(
      { kind: 'edit', side: 'user', neuron: seg.neuron, concept: seg.concept },
      bundle,
      `${prefix}segment.`,
    );
  if (policySide(p) === 'item')
    requireSharedSae(
      bundle,
      `${prefix}segment.neuron`,
      "a segment on this policy's own neurons",
      'decide it on a user-SAE neuron with segment.neuron',
    );
  return resolveNeurons(p, bundle, prefix);
}
