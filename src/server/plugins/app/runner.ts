import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';

export interface RunnerPluginOptions {
  /** Enqueue a bootstrap pipeline when no model is active (default true). */
  bootstrap?: boolean;
}

// Filled in once [JOBS]' runner lands.
export default fp(
  async function runnerPlugin(
    _app: FastifyInstance,
    _opts: { config: ServerConfig; jobs: RunnerPluginOptions | false },
  ) {},
  { name: 'runner', dependencies: ['store', 'registry', 'metrics'] },
);
