import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaPackageInstalled } from '../../src/ml/nn/tfjs-kernel.ts';
import { ConfigError, loadConfig, parseConfig, unknownVariables } from '../../src/server/config.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      port: 3000,
      dbPath: './var/prism.db',
      apiKeys: [],
      workers: 1,
      bootstrap: 'synthetic',
      rateLimit: null,
      readsOpen: true,
      jobPriority: 'idle',
      jobMemoryMb: null,
    });
    expect(parseConfig({ PRISM_JOB_PRIORITY: 'low' }).jobPriority).toBe('low');
    expect(parseConfig({}).compute).toBe('auto');
    expect(parseConfig({ PRISM_COMPUTE: 'js' }).compute).toBe('js');
    expect(parseConfig({ PRISM_JOB_MEMORY_MB: '2048' }).jobMemoryMb).toBe(2048);
    expect(parseConfig({ PRISM_JOB_MEMORY_MB: '0' }).jobMemoryMb).toBe(0);
    expect(parseConfig({ PRISM_JOB_MEMORY_MB: '' }).jobMemoryMb).toBeNull();
  });

  it('parses every variable', () => {
    const c = parseConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      PRISM_DB: '/tmp/x.db',
      PRISM_API_KEYS: ' k1, k2 ,',
      PRISM_WORKERS: '2',
      PRISM_BOOTSTRAP: 'movielens-1m:/data/ml-1m',
      PRISM_RATE_LIMIT: '20/10s',
      PRISM_READS_OPEN: 'false',
    });
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dbPath: '/tmp/x.db',
      apiKeys: ['k1', 'k2'],
      workers: 2,
      bootstrap: 'movielens-1m:/data/ml-1m',
      rateLimit: { max: 20, timeWindowMs: 10_000 },
      readsOpen: false,
    });
    expect(parseConfig({ PRISM_RATE_LIMIT: '100' }).rateLimit).toEqual({ max: 100, timeWindowMs: 60_000 });
  });

  it('rejects bad values with a message naming the variable', () => {
    for (const [name, value] of [
      ['PORT', 'eighty'],
      ['PORT', '70000'],
      ['PRISM_WORKERS', '0'],
      ['PRISM_RATE_LIMIT', 'fast'],
      ['PRISM_READS_OPEN', 'perhaps'],
      ['PRISM_BOOTSTRAP', '  '],
      ['PRISM_BOOTSTRAP', 'imdb:/data'],
      ['PRISM_BOOTSTRAP', 'synthetic:users=many'],
      ['PRISM_JOB_PRIORITY', 'urgent'],
      ['PRISM_COMPUTE', 'cuda'],
      // Where tfjs-node-gpu is not installed (here: its install downloads libtensorflow).
      ...(cudaPackageInstalled() ? [] : [['PRISM_COMPUTE', 'gpu']]),
      ['PRISM_JOB_MEMORY_MB', '2GB'],
      ['PRISM_JOB_MEMORY_MB', '-1'],
      ['PRISM_JOB_MEMORY_MB', '32'],
      ['PRISM_RATE_LIMIT', '2/0s'],
      ['PRISM_RATE_LIMIT', '2/9999999h'],
      ['PRISM_API_KEYS', ' , '],
      ['PRISM_DB', ' '],
      ['PRISM_TRUST_PROXY', 'my-proxy'],
      // Address-shaped but not addresses: once refused only when the server started listening.
      ['PRISM_TRUST_PROXY', 'abc'],
      ['PRISM_TRUST_PROXY', '999.1.1.1'],
      ['PRISM_TRUST_PROXY', '10.0.0.0/99'],
      ['PRISM_TRUST_PROXY', '::1/129'],
      ['PRISM_MAX_QUEUED_JOBS', '0'],
      ['PRISM_JOB_MAX_SECONDS', '0'],
      ['PRISM_JOB_MAX_SECONDS', '1h'],
      ['PRISM_JOB_MAX_SECONDS', String(30 * 86_400)], // past a Node timer's ~24.8 days it would fire at once
      ['HOST', ''],
    ]) {
      let err: unknown;
      try {
        parseConfig({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
      expect((err as Error).message).toContain(name);
    }
  });

  it('names PRISM_ variables that are no setting (a typo would leave its setting at the default)', () => {
    const env = {
      PRISM_API_KEY: 'k', // PRISM_API_KEYS misspelt: authentication would stay off
      PRISM_RATELIMIT: '100',
      PRISM_RATE_LIMIT: '100',
      PRISM_CONFIG: '/etc/prism.json',
      PRISM_PROCESS_INDEX: '0',
      PATH: '/usr/bin',
    };
    expect(unknownVariables(env)).toEqual(['PRISM_API_KEY', 'PRISM_RATELIMIT']);
  });

  it('reads a JSON config file that environment variables override', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-config-'));
    const file = join(dir, 'prism.json');
    writeFileSync(file, JSON.stringify({ PORT: 4000, PRISM_API_KEYS: ['a', 'b'], PRISM_WORKERS: 3 }));
    const c = loadConfig({ PRISM_CONFIG: file, PRISM_WORKERS: '2' });
    expect(c).toMatchObject({ port: 4000, apiKeys: ['a', 'b'], workers: 2 });
    writeFileSync(file, JSON.stringify({ PROT: 1 }));
    expect(() => loadConfig({ PRISM_CONFIG: file })).toThrow(/PROT/);
    expect(() => loadConfig({ PRISM_CONFIG: join(dir, 'missing.json') })).toThrow(/PRISM_CONFIG/);
    // null or "" in the file leaves a setting at its default, as an unset variable does (an empty
    // PRISM_DB once meant an in-memory database, and null a file named "null").
    writeFileSync(file, JSON.stringify({ PRISM_DB: '', HOST: null, PORT: '' }));
    expect(loadConfig({ PRISM_CONFIG: file })).toMatchObject({
      dbPath: './var/prism.db',
      host: '0.0.0.0',
      port: 3000,
    });
  });

  it('reads PRISM_TRUST_PROXY as a flag, a hop count or addresses', () => {
    expect(parseConfig({}).trustProxy).toBe(false);
    expect(parseConfig({ PRISM_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(parseConfig({ PRISM_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(parseConfig({ PRISM_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(parseConfig({ PRISM_TRUST_PROXY: '::1,fd00::/8' }).trustProxy).toEqual(['::1', 'fd00::/8']);
  });

  it('refuses several processes on an in-memory database (each process would get its own)', () => {
    expect(() => parseConfig({ PRISM_PROCESSES: '2', PRISM_DB: ':memory:' })).toThrow(/PRISM_PROCESSES/);
    expect(parseConfig({ PRISM_PROCESSES: '1', PRISM_DB: ':memory:' }).processes).toBe(1);
  });
});
