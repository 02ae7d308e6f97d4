import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { temporaryDirectories } from '../helpers/temp.ts';

const tempDir = temporaryDirectories();

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs `npm start`'s entry point with the given environment until it exits (or `timeoutMs`). */
function runServer(
  env: Record<string, string>,
  timeoutMs = 40_000,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, PRISM_LOG_LEVEL: 'warn', PRISM_API_KEYS: 'k', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the server did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

function occupiedPort(): Promise<{ server: Server; port: number }> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => done({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('the server process', () => {
  it('with several processes, stops and exits 1 when one fails to start, instead of restarting it forever', {
    timeout: 60_000,
  }, async () => {
    const db = join(tempDir('prism-cluster-'), 'prism.db');
    const { code, stderr } = await runServer({
      PORT: '0',
      HOST: '127.0.0.1',
      PRISM_PROCESSES: '2',
      PRISM_DB: db,
      PRISM_BOOTSTRAP: `movielens-1m:${join(tmpdir(), 'prism-no-such-dir')}`,
    });
    expect(code).toBe(1);
    expect(stderr).toContain('PRISM_BOOTSTRAP');
    expect(stderr).not.toContain('params.data'); // the variable is named, not the job field behind it
    expect(stderr).toContain('failed to start');
    expect(stderr).not.toContain('restarting it');
  });

  it('when it cannot listen, hands the bootstrap job back (queued, attempt refunded) and exits 1', {
    timeout: 60_000,
  }, async () => {
    const db = join(tempDir('prism-listen-'), 'prism.db');
    const taken = await occupiedPort();
    try {
      const { code, stderr } = await runServer({
        PORT: String(taken.port),
        HOST: '127.0.0.1',
        PRISM_DB: db,
      });
      expect(code).toBe(1);
      expect(stderr).toContain('EADDRINUSE');
    } finally {
      taken.server.close();
    }
    const store = openStore(db);
    try {
      const jobs = store.jobs.list({});
      expect(jobs.map((j) => [j.type, j.status, j.attempts])).toEqual([['pipeline', 'queued', 0]]);
      // …handed back, not never claimed: the requeue says why.
      expect(jobs[0].error).toMatch(/requeued/);
    } finally {
      store.close();
    }
  });
});
