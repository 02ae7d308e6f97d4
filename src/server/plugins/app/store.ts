import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { openStore } from '../../../store/index.ts';
import type { Store } from '../../../store/types.ts';
import { ConfigError, ensureDbDir, type ServerConfig } from '../../config.ts';

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
    const path = opts.config.dbPath;
    let store: Store;
    try {
      ensureDbDir(path);
      store = openStore(path);
    } catch (err) {
      // SQLite's "unable to open database file" names neither the path nor where it came from.
      throw new ConfigError('PRISM_DB', `cannot open the database ${path}: ${(err as Error).message}`);
    }
    app.addHook('onClose', async () => store.close());
    app.decorate('store', store);
  },
  { name: 'store' },
);
