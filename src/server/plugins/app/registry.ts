import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ModelBundle } from '../../../ml/bundle.ts';
import { steerContext } from '../../../ml/steer/context.ts';
import type { Job, JobStatus, ModelVersion, Store } from '../../../store/types.ts';
import { ApiError } from '../../errors.ts';
import { runInSlices } from '../../services/slices.ts';

/** The model being served: its version row and the decoded bundle, swapped as one reference. */
export interface ActiveModel {
  version: ModelVersion;
  bundle: ModelBundle;
}

/**
 * Holds the active model. Requests read `current` once and keep that reference, so a swap never mixes
 * two models inside one request and never fails one: the new bundle is fully decoded and warmed before
 * the pointer moves. Warming runs in short slices between event-loop turns, so the old model keeps
 * serving (without stalls) while the new one gets ready.
 */
export class ModelRegistry {
  current: ActiveModel | null = null;
  private loading: string | null = null;
  /** The last load that failed (cleared by any install): the poll pauses before trying that version again. */
  private failure: { id: number; message: string } | null = null;
  /** A bundle decoded by `activate` before the store switch, picked up by the activation event. */
  private preloaded: { id: number; bundle: ModelBundle } | null = null;
  /**
   * The swap in flight; a newer swap or an install supersedes it (bumps `generation` and aborts its
   * warm-up through `abort`, so a superseded bundle stops costing CPU and memory).
   */
  private pending: { id: number; done: Promise<ActiveModel | null>; abort: AbortController } | null = null;
  private generation = 0;
  /** The warm-up of the latest `activate`; a later one aborts it, and only an unaborted one installs. */
  private activation: { id: number; abort: AbortController } | null = null;
  private readonly stopping = new AbortController();
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
    if (this.failure) return `loading the active model failed: ${this.failure.message}`;
    const active = this.store.models.active();
    if (active) return `model version ${active.id} is active; this server is loading it`;
    const pending = this.latestActivatingPipeline(['running', 'queued']);
    if (pending) {
      const where =
        pending.status === 'running'
          ? `stage ${pending.stage ?? 'start'}, ${Math.round(pending.progress * 100)}%`
          : 'queued';
      // The kind of data only: readiness needs no key, and a dataset's path is the server's business.
      const kind = String(pending.params.data ?? 'synthetic').split(':')[0];
      return `no model version is active yet; pipeline job ${pending.id} on ${kind} data will activate one (${where})`;
    }
    // Point at the last pipeline that was to activate a model and failed (a bad bootstrap file, say). Its
    // error stays behind the jobs API: it can name server paths and lines of data files.
    const failed = this.latestActivatingPipeline(['failed']);
    const last = failed ? `; pipeline job ${failed.id} failed (GET /v1/jobs/${failed.id} says why)` : '';
    return `no model version is active: enqueue a pipeline job (POST /v1/jobs) or activate a version${last}`;
  }

  /** The newest pipeline job in `status` that was to activate its model (among the last 20). */
  private latestActivatingPipeline(status: JobStatus[]): Job | undefined {
    return this.store.jobs
      .list({ status, type: 'pipeline', limit: 20 })
      .find((j) => j.params.activate !== false);
  }

  /** Loads whatever version the store marks active (start-up). */
  loadActive(): Promise<ActiveModel | null> {
    const v = this.store.models.active();
    return v ? this.swapTo(v.id) : Promise.resolve(null);
  }

  /**
   * Activates `id` for serving: decodes and warms its bundle first, then marks it active in the store,
   * then swaps the pointer. A failure at any step leaves the old model serving. The version already
   * served is only marked active again (no decoding).
   */
  async activate(id: number): Promise<ActiveModel> {
    this.activation?.abort.abort(new Error(`superseded by the activation of version ${id}`));
    const served = this.current;
    if (served?.version.id === id) {
      // Versions never change, so the bundle served is the one a reload would decode: only the store's
      // active row moves (others follow it), and a swap to another version in progress is dropped.
      this.activation = null;
      return this.install(this.activator(id), served.bundle);
    }
    const activation = { id, abort: new AbortController() };
    const { abort } = activation;
    this.activation = activation;
    // A later activation started meanwhile (its start aborts this warm-up): it decides what is served,
    // this one changes nothing.
    const superseded = () =>
      new ApiError(409, 'SUPERSEDED', `activating version ${id} was superseded by a later activation`);
    let bundle: ModelBundle;
    try {
      bundle = await this.decode(id, abort.signal);
    } catch (err) {
      throw abort.signal.aborted ? superseded() : err;
    } finally {
      if (this.activation === activation) this.activation = null;
    }
    if (abort.signal.aborted) throw superseded();
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

  /**
   * Serves a version the store already marks active (the runner's `model:activated`, start-up, or
   * another process's activation). Resolves to what is served once the swap is done, or null when the
   * version could not be loaded (the old model keeps serving).
   */
  swapTo(id: number): Promise<ActiveModel | null> {
    const preloaded = this.preloaded;
    if (preloaded?.id === id) {
      const version = this.store.models.get(id);
      if (version) return Promise.resolve(this.install(version, preloaded.bundle));
    }
    if (this.pending?.id === id) return this.pending.done;
    if (this.current?.version.id === id) {
      this.supersede();
      return Promise.resolve(this.current);
    }
    this.supersede();
    const abort = new AbortController();
    const done = this.load(id, this.generation, abort.signal);
    this.pending = { id, done, abort };
    return done;
  }

  /** The version being swapped in, else the one served (what the store's active row is compared with). */
  target(): number | null {
    return this.pending?.id ?? this.current?.version.id ?? null;
  }

  /** Whether the last attempt to load `id` failed (a version deleted meanwhile is no failure). */
  loadFailed(id: number): boolean {
    return this.failure?.id === id;
  }

  /** Whether this server serves `id`, or is decoding it to serve it (an activation or a swap in flight). */
  holds(id: number): boolean {
    return this.current?.version.id === id || this.pending?.id === id || this.activation?.id === id;
  }

  /** Resolves once no swap is in flight (tests, benchmarks). */
  async settled(): Promise<void> {
    while (this.pending) await this.pending.done;
  }

  /** Abandons any swap in flight (server shutdown). */
  stop(): void {
    this.supersede();
    this.stopping.abort(new Error('the server is closing'));
  }

  private async load(id: number, generation: number, signal: AbortSignal): Promise<ActiveModel | null> {
    try {
      const bundle = await this.decode(id, signal);
      if (generation !== this.generation) return this.current;
      const version = this.store.models.get(id);
      if (!version) throw new Error(`model version ${id} vanished`);
      return this.install(version, bundle);
    } catch (err) {
      if (generation !== this.generation) return this.current;
      if (this.store.models.get(id) === null) {
        // Deleted meanwhile (so no longer the store's active row): not a load failure, which would hold
        // the next attempt back; the poll follows the active row on its next tick.
        this.log.info({ modelId: id }, 'model version deleted before it could be served');
        return this.current;
      }
      this.failure = { id, message: (err as Error).message };
      this.log.error({ err, modelId: id }, 'could not load model version');
      return null;
    } finally {
      if (generation === this.generation) this.pending = null;
    }
  }

  private supersede(): void {
    this.generation++;
    this.pending?.abort.abort(new Error('superseded'));
    this.pending = null;
  }

  /** Decodes a version's bundle and warms its steering state (in slices), so no request pays for it. */
  private async decode(id: number, signal: AbortSignal): Promise<ModelBundle> {
    const loading = `loading model version ${id}`;
    this.loading = loading;
    try {
      const bundle = this.store.models.loadBundle(id);
      await runInSlices(steerContext(bundle).warmUp(), AbortSignal.any([this.stopping.signal, signal]));
      return bundle;
    } finally {
      if (this.loading === loading) this.loading = null;
    }
  }

  private install(version: ModelVersion, bundle: ModelBundle): ActiveModel {
    this.supersede();
    const next: ActiveModel = { version, bundle };
    this.current = next;
    this.failure = null;
    this.log.info({ modelId: version.id, dataset: version.datasetName }, 'serving model version');
    return next;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    models: ModelRegistry;
  }
}

/** Pause before loading again a version whose load failed (a corrupt artifact, say). */
const LOAD_RETRY_MS = 10_000;

export default fp(
  async function registryPlugin(app: FastifyInstance, opts: { pollMs?: number }) {
    const registry = new ModelRegistry(app.store, app.log);
    app.decorate('models', registry);
    app.addHook('onClose', async () => registry.stop());
    await registry.loadActive();
    // Another process, or another server on the same database file, may activate a version (its job runner
    // claims from the same queue): serve whatever the store's active row names. Compared with the target
    // on every tick (not only when the row changes), so a missed change or a failed load heals; a version
    // that failed to load is tried again after a pause, not on every tick.
    if (opts.pollMs && opts.pollMs > 0) {
      let retryAt = 0;
      const timer = setInterval(() => {
        const v = app.store.models.active();
        // Against the swap in flight too: a rollback elsewhere while this process warms the newer version
        // must cancel that swap, not wait for it to finish and be undone.
        if (!v || v.id === registry.target() || Date.now() < retryAt) return;
        void registry.swapTo(v.id).then(() => {
          if (registry.loadFailed(v.id)) retryAt = Date.now() + LOAD_RETRY_MS;
        });
      }, opts.pollMs);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
  { name: 'registry', dependencies: ['store'] },
);
