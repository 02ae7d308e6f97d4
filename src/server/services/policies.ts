import type { FastifyBaseLogger } from 'fastify';
import type { ModelBundle } from '../../ml/bundle.ts';
import { type Policy, validatePolicy } from '../../ml/steer/policy.ts';
import type { ModelVersion, PolicyRecord, Store } from '../../store/types.ts';
import { ApiError, asBodyError } from '../errors.ts';
import type { ActiveModel, ModelRegistry } from '../plugins/app/registry.ts';

/** A stored policy ready for `recommend`: validated against the serving bundle, named and versioned. */
export interface LivePolicy {
  record: PolicyRecord<Policy>;
  /** The object passed to `recommend` (stable per (record version, bundle), so steering caches hold). */
  policy: Policy;
}

/** How responses name a policy they applied: id, name and the version that applied. */
export const appliedPolicy = (p: LivePolicy) => ({
  id: p.record.id,
  name: p.record.name,
  version: p.record.version,
});

export interface Snapshot {
  bundle: ModelBundle;
  revision: number;
  enabled: LivePolicy[];
  byRef: Map<string, LivePolicy>;
  /** Why each stored policy that does not apply to the snapshot's model does not, by policy id. */
  problems: Map<number, string>;
}

/** How often the store's revision is re-read, so another instance's edits are picked up too (ms). */
const REVISION_POLL_MS = 1000;

/**
 * Stored policies as live traffic sees them. The enabled set is compiled once per (bundle, store
 * revision) and shared by every request; a mutation through this service takes effect on the next
 * request, and the revision is part of every recommendation cache key.
 */
export class PolicyService {
  private snapshot: Snapshot | null = null;
  private revisionCheckedAt = 0;

  /**
   * `revisionPollMs`: how stale another process's edits may be. 0 re-reads the revision (one indexed
   * row) on every request: with several server processes a policy edit answered 2xx by one of them then
   * applies to the very next request anywhere.
   */
  constructor(
    private readonly store: Store,
    private readonly registry: ModelRegistry,
    private readonly log: FastifyBaseLogger,
    private readonly revisionPollMs = REVISION_POLL_MS,
  ) {}

  /** The live snapshot for the active model (rebuilt when the model or the store's revision changed). */
  live(active: ActiveModel): Snapshot {
    const { bundle } = active;
    const now = Date.now();
    let snap = this.snapshot;
    if (snap && snap.bundle === bundle && now - this.revisionCheckedAt < this.revisionPollMs) return snap;
    const revision = this.store.policies.revision();
    this.revisionCheckedAt = now;
    if (snap && snap.bundle === bundle && snap.revision === revision) return snap;
    snap = { bundle, revision, enabled: [], byRef: new Map(), problems: new Map() };
    for (const record of this.store.policies.list<Policy>()) {
      const check = this.check(record, active);
      if (!check.policy) {
        snap.problems.set(record.id, check.problem ?? 'does not apply');
        if (record.enabled)
          this.log.warn(
            { policy: record.name, problem: check.problem },
            'policy does not apply to the active model',
          );
        continue;
      }
      const live = { record, policy: check.policy };
      if (record.enabled) snap.enabled.push(live);
      snap.byRef.set(String(record.id), live);
      snap.byRef.set(record.name, live);
    }
    this.snapshot = snap;
    return snap;
  }

  /** Forces the next `live` call to re-read the store (after a mutation through this instance). */
  invalidate(): void {
    this.snapshot = null;
  }

  /**
   * Resolves query refs (ids or names) to live policies, in `snap` (default the current one); 400 naming
   * the first unknown or inapplicable one.
   */
  resolve(
    active: ActiveModel,
    refs: readonly string[],
    field: string,
    snap: Snapshot = this.live(active),
  ): LivePolicy[] {
    return refs.map((ref, r) => {
      const hit = snap.byRef.get(ref);
      if (hit) return hit;
      const record = this.find(ref);
      const f = `${field}[${r}]`;
      if (!record) throw new ApiError(400, 'UNKNOWN_POLICY', `${f}: unknown policy "${ref}"`, f);
      // Another spelling of its id ("01"), or a policy another process stored since the last poll: look it
      // up by id, in a fresh snapshot only when the current one has not seen it (one it set aside as
      // inapplicable is answered from there, not by rebuilding the snapshot on every such request).
      let seen = snap;
      if (!seen.byRef.has(String(record.id)) && !seen.problems.has(record.id)) {
        this.invalidate();
        seen = this.live(active);
      }
      const live = seen.byRef.get(String(record.id));
      if (live) return live;
      const problem = seen.problems.get(record.id) ?? this.check(record, active).problem;
      throw new ApiError(
        400,
        'BAD_POLICY',
        `${f}: policy "${ref}" does not apply to the active model: ${problem}`,
        f,
      );
    });
  }

  /** A stored record by id (all digits) or name. */
  find(ref: string): PolicyRecord<Policy> | null {
    return /^\d+$/.test(ref)
      ? this.store.policies.get<Policy>(Number(ref))
      : this.store.policies.getByName<Policy>(ref);
  }

  /** 404 naming the ref when there is no such policy. */
  require(ref: string, field = 'params.policyId'): PolicyRecord<Policy> {
    const r = this.find(ref);
    if (!r) throw new ApiError(404, 'UNKNOWN_POLICY', `unknown policy "${ref}"`, field);
    return r;
  }

  /**
   * Validates request JSON against the serving model; 400 naming the field (e.g. body.policy.concept).
   * Returns the version it was validated against too (what a stored policy's neuron indices refer to).
   */
  validate(raw: unknown, fieldPrefix: string): { policy: Policy; modelId: number } {
    const { bundle, version } = this.registry.require();
    try {
      return { policy: validatePolicy(raw, bundle, `${fieldPrefix}.`), modelId: this.bindingFor(version) };
    } catch (err) {
      throw asBodyError(err, fieldPrefix);
    }
  }

  /**
   * The version a policy saved now is bound to: the one served, or — when another server deleted it while
   * this one had not yet followed the store — a remaining version with the same SAE (as the delete rebinds
   * the policies saved before it).
   */
  private bindingFor(version: ModelVersion): number {
    if (this.store.models.get(version.id) !== null || version.artifacts.sae === null) return version.id;
    return this.store.models.latestWithSae(version.artifacts.sae)?.id ?? version.id;
  }

  /**
   * Whether a stored record applies to the active model, and the policy object to pass to `recommend`.
   * A neuron index means a neuron of the SAE of the version the policy was saved against: on a version
   * with another SAE it names an unrelated feature, so the policy is set aside until saved again (a
   * concept carries over; a relabelled version keeps its base's SAE, and the policy with it).
   */
  check(record: PolicyRecord<Policy>, active: ActiveModel): { policy: Policy | null; problem?: string } {
    const { bundle, version } = active;
    const indices = neuronIndices(record.policy);
    // The version it was saved against, read once (null: since deleted).
    const bound =
      indices.length === 0 || record.modelId === null || record.modelId === version.id
        ? version
        : this.store.models.get(record.modelId);
    if (bound === null || !sharesSae(bound, version)) {
      const j = indices[0];
      const label = bundle.neurons.find((n) => n.index === j)?.label;
      const here = `save the policy again to use it on version ${version.id}, or name a concept`;
      return {
        policy: null,
        problem:
          bound === null
            ? `names neuron ${j} by index, a neuron of the SAE of model version ${record.modelId} (the version ` +
              `it was saved against, since deleted, and no remaining version has that SAE): ${here}`
            : `names neuron ${j} by index, a neuron of the SAE of model version ${record.modelId} (the version ` +
              `it was saved against); the active version ${version.id} has another SAE, whose neuron ${j} is ` +
              `another feature${label ? ` (labelled "${label}")` : ''}: ${here}`,
      };
    }
    try {
      const policy = validatePolicy(record.policy, bundle);
      policy.id = record.name;
      policy.version = record.version;
      return { policy };
    } catch (err) {
      return { policy: null, problem: (err as Error).message };
    }
  }
}

/** The neuron indices a policy names directly (its own and its segment's), as opposed to by concept. */
function neuronIndices(p: Policy): number[] {
  const out: number[] = [];
  if (p.neuron !== undefined) out.push(p.neuron);
  if (p.segment?.neuron !== undefined) out.push(p.segment.neuron);
  return out;
}

/** Whether two versions serve the same SAE (a label job's version reuses its base's). */
function sharesSae(a: ModelVersion, b: ModelVersion): boolean {
  return a.id === b.id || (a.artifacts.sae !== null && a.artifacts.sae === b.artifacts.sae);
}
