import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { openStore } from '../../../store/index.ts';
import type { Store } from '../../../store/types.ts';
import { ensureDbDir, type ServerConfig } from '../../config.ts';

declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
  }
}

/** The SQLite store (migrations applied on open). A store passed in by the caller is not closed here. */
export default fp(
  async function storePlugin(app: FastifyInstance, opts: { config: ServerConfig; store?: Store }) {
    if (opts.store) {
      app.decorate('store', opts.store);
      return;
    }
    ensureDbDir(opts.config.dbPath);
    const store = openStore(opts.config.dbPath);
    app.addHook('onClose', async () => store.close());
    app.decorate('store', store);
  },
  { name: 'store' },
);
