import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ModelBundle } from '../../../ml/bundle.ts';
import { steerContext } from '../../../ml/steer/context.ts';
import type { ModelVersion, Store } from '../../../store/types.ts';
import { ApiError } from '../../errors.ts';

/** The model being served: its version row and the decoded bundle, swapped as one reference. */
export interface ActiveModel {
  version: ModelVersion;
  bundle: ModelBundle;
}

/**
 * Holds the active model. Requests read `current` once and keep that reference, so a swap never mixes
 * two models inside one request and never fails one: the new bundle is fully decoded before the
 * pointer moves.
 */
export class ModelRegistry {
  current: ActiveModel | null = null;
  private loading: string | null = null;
  private lastError: string | null = null;
  /** A bundle decoded by `activate` before the store switch, picked up by the activation event. */
  private preloaded: { id: number; bundle: ModelBundle } | null = null;
  /** Marks a version active in the store (the job runner's `activate`, which also emits the event). */
  activator: (id: number) => ModelVersion;

  constructor(
    private readonly store: Store,
    private readonly log: FastifyBaseLogger,
  ) {
    this.activator = (id) => store.models.activate(id);
  }

  /** The active model, or a 503 saying why there is none. */
  require(): ActiveModel {
    const c = this.current;
    if (!c) throw new ApiError(503, 'NOT_READY', `no model is active yet: ${this.notReadyReason()}`);
    return c;
  }

  notReadyReason(): string {
    if (this.loading) return this.loading;
    if (this.lastError) return `loading the active model failed: ${this.lastError}`;
    const pending = this.store.jobs
      .list({ status: ['running', 'queued'], type: 'pipeline', limit: 1 })
      .find((j) => j.params.activate !== false);
    if (pending) {
      const where =
        pending.status === 'running'
          ? `stage ${pending.stage ?? 'start'}, ${Math.round(pending.progress * 100)}%`
          : 'queued';
      return `no model version is active yet; pipeline job ${pending.id} on ${pending.params.data ?? 'synthetic'} will activate one (${where})`;
    }
    return 'no model version is active: enqueue a pipeline job (POST /v1/jobs) or activate a version';
  }

  /** Loads whatever version the store marks active (start-up). */
  loadActive(): ActiveModel | null {
    const v = this.store.models.active();
    if (!v) return null;
    return this.swapTo(v.id);
  }

  /**
   * Activates `id` for serving: decodes its bundle first, then marks it active in the store, then swaps
   * the pointer. A failure at any step leaves the old model serving.
   */
  activate(id: number): ActiveModel {
    const bundle = this.decode(id);
    this.preloaded = { id, bundle };
    try {
      const version = this.activator(id);
      return this.current?.version.id === id && this.current.bundle === bundle
        ? this.current
        : this.install(version, bundle);
    } finally {
      this.preloaded = null;
    }
  }

  /** Serves a version the store already marks active (the runner's `model:activated`). */
  swapTo(id: number): ActiveModel | null {
    if (this.current?.version.id === id && !this.preloaded) return this.current;
    try {
      const bundle = this.preloaded?.id === id ? this.preloaded.bundle : this.decode(id);
      const version = this.store.models.get(id);
      if (!version) throw new Error(`model version ${id} vanished`);
      return this.install(version, bundle);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error({ err, modelId: id }, 'could not load model version');
      return null;
    }
  }

  /** Decodes a version's bundle and warms its steering state, so no request pays for it. */
  private decode(id: number): ModelBundle {
    this.loading = `loading model version ${id}`;
    try {
      const bundle = this.store.models.loadBundle(id);
      const ctx = steerContext(bundle);
      ctx.itemCodes();
      ctx.userRef();
      // Every user's exact unsteered top-N (MF; ~one scoring pass, 0.8 s CPU on ML-1M): requests then
      // skip scoring the catalogue whenever the list proves the answer exact (src/ml/steer/candidates.ts).
      ctx.candidates(true);
      ctx.fillUserCodes();
      ctx.itemRecons();
      ctx.itemActivationsOnNeuron(0);
      return bundle;
    } finally {
      this.loading = null;
    }
  }

  private install(version: ModelVersion, bundle: ModelBundle): ActiveModel {
    const next: ActiveModel = { version, bundle };
    this.current = next;
    this.lastError = null;
    this.log.info({ modelId: version.id, dataset: version.datasetName }, 'serving model version');
    return next;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    models: ModelRegistry;
  }
}

export default fp(
  async function registryPlugin(app: FastifyInstance, opts: { pollMs?: number }) {
    const registry = new ModelRegistry(app.store, app.log);
    app.decorate('models', registry);
    registry.loadActive();
    // Another process (or instance) may activate a version: follow the store's active row.
    if (opts.pollMs && opts.pollMs > 0) {
      const timer = setInterval(() => {
        const v = app.store.models.active();
        if (v && v.id !== registry.current?.version.id) registry.swapTo(v.id);
      }, opts.pollMs);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  { name: 'registry', dependencies: ['store'] },
);
