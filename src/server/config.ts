import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { JOB_PRIORITIES, type JobPriority } from '../jobs/priority.ts';
import { parseDataSpec } from '../ml/data/spec.ts';
import { COMPUTE_CHOICES, type ComputeChoice } from '../ml/nn/dense-kernel.ts';
import { unavailableChoice } from '../ml/nn/tfjs-kernel.ts';

/** Service configuration: environment variables, optionally added to by a JSON config file. */
export interface ServerConfig {
  port: number;
  host: string;
  /** SQLite file path, or ':memory:'. */
  dbPath: string;
  /** Accepted API keys (`Authorization: Bearer <key>`); empty = authentication disabled (dev mode). */
  apiKeys: string[];
  /** Worker threads for jobs. */
  workers: number;
  /** Data spec of the first pipeline, run when no model is active. */
  bootstrap: string;
  /** Requests per window per key or client address; null = off. */
  rateLimit: { max: number; timeWindowMs: number } | null;
  /** When true, GET endpoints need no API key. */
  readsOpen: boolean;
  /** Maximum request body in bytes. */
  bodyLimit: number;
  logLevel: string;
  /** Entries in the recommendations response cache (0 = off). */
  recCacheSize: number;
  /**
   * HTTP server processes (node:cluster, sharing the port). 1 = this process only. With more, the first
   * process also runs the jobs and every process follows model activations through the store.
   */
  processes: number;
  /** CPU priority of job threads: idle (SCHED_IDLE), low (nice 10) or normal. */
  jobPriority: JobPriority;
  /**
   * Memory a job may use, in MiB: a job whose estimated peak does not fit is refused before it allocates.
   * null (unset) = what the machine, or the container's limit, leaves available at the check; 0 = no check.
   */
  jobMemoryMb: number | null;
  /** A running job's time limit in seconds; null (unset) = none. */
  jobMaxSeconds: number | null;
  /**
   * The data a job request names must lie under this directory (symlinks resolved), so an API caller
   * cannot make the server read arbitrary files; null = job requests may name no files (synthetic data
   * only). PRISM_BOOTSTRAP (the operator's) is not limited.
   */
  dataRoot: string | null;
  /** Jobs that may wait in the queue at once; an enqueue beyond it is refused (429 QUEUE_FULL). */
  maxQueuedJobs: number;
  /**
   * What computes jobs' dense products (SAE training's encoder, NCF's MLP): auto (the Float32Array loops
   * for small runs, else CUDA through tfjs-node-gpu when installed, else tfjs's wasm backend), js, wasm or
   * gpu (src/ml/pipeline/compute.ts).
   */
  compute: ComputeChoice;
  /**
   * Whose X-Forwarded-For to believe for the client address (rate limiting per address, logs): false
   * (default, the socket's peer), true (any), a number of proxy hops, or addresses/CIDRs.
   */
  trustProxy: boolean | number | string[];
}

/** A Node timer's longest delay (2³¹ − 1 ms, ~24.8 days): a longer one fires at once. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** A configuration value that failed validation; `variable` names it. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Source = Record<string, string | undefined>;

const KNOWN = [
  'PORT',
  'HOST',
  'PRISM_DB',
  'PRISM_API_KEYS',
  'PRISM_WORKERS',
  'PRISM_BOOTSTRAP',
  'PRISM_RATE_LIMIT',
  'PRISM_READS_OPEN',
  'PRISM_BODY_LIMIT',
  'PRISM_LOG_LEVEL',
  'PRISM_REC_CACHE',
  'PRISM_PROCESSES',
  'PRISM_JOB_PRIORITY',
  'PRISM_JOB_MEMORY_MB',
  'PRISM_DATA_ROOT',
  'PRISM_TRUST_PROXY',
  'PRISM_MAX_QUEUED_JOBS',
  'PRISM_JOB_MAX_SECONDS',
  'PRISM_COMPUTE',
] as const;

/** Variables the server reads besides the settings: the config file's name, and the index the primary gives each cluster process. */
const INTERNAL = ['PRISM_CONFIG', 'PRISM_PROCESS_INDEX'];

/**
 * PRISM_* variables that name no setting. A misspelt one (PRISM_API_KEY, PRISM_RATELIMIT) would otherwise
 * leave its setting at the default — authentication or the rate limit off — without a word; the config
 * file refuses unknown keys, the environment (shared with other tools) gets a warning.
 */
export function unknownVariables(env: Source = process.env): string[] {
  return Object.keys(env).filter(
    (name) =>
      name.startsWith('PRISM_') && !(KNOWN as readonly string[]).includes(name) && !INTERNAL.includes(name),
  );
}

/**
 * Reads the configuration. `PRISM_CONFIG` may name a JSON file whose keys are the variable names above
 * (values as strings, numbers or booleans); environment variables override the file.
 */
export function loadConfig(env: Source = process.env): ServerConfig {
  const src: Source = { ...readConfigFile(env.PRISM_CONFIG) };
  for (const key of KNOWN) if (env[key] !== undefined && env[key] !== '') src[key] = env[key];
  return parseConfig(src);
}

export function parseConfig(src: Source): ServerConfig {
  const dbPath = nonEmpty(src, 'PRISM_DB', './var/prism.db');
  const processes = int(src, 'PRISM_PROCESSES', 1, 1, 64);
  if (processes > 1 && dbPath === ':memory:')
    throw new ConfigError(
      'PRISM_PROCESSES',
      `${processes} processes need a database file they share; PRISM_DB is :memory: (one per process)`,
    );
  return {
    port: int(src, 'PORT', 3000, 0, 65535),
    host: nonEmpty(src, 'HOST', '0.0.0.0'),
    dbPath,
    apiKeys: apiKeys(src.PRISM_API_KEYS),
    workers: int(src, 'PRISM_WORKERS', 1, 1, 64),
    bootstrap: dataSpec(src, 'PRISM_BOOTSTRAP', 'synthetic'),
    rateLimit: rateLimit(src.PRISM_RATE_LIMIT),
    readsOpen: bool(src, 'PRISM_READS_OPEN', true),
    bodyLimit: int(src, 'PRISM_BODY_LIMIT', 256 * 1024, 1024, 64 * 1024 * 1024),
    recCacheSize: int(src, 'PRISM_REC_CACHE', 10_000, 0, 10_000_000),
    processes,
    jobPriority: oneOf(src, 'PRISM_JOB_PRIORITY', 'idle', JOB_PRIORITIES),
    jobMemoryMb: jobMemory(src),
    jobMaxSeconds: optionalInt(src, 'PRISM_JOB_MAX_SECONDS', 1, MAX_TIMER_SECONDS),
    dataRoot: directory(src, 'PRISM_DATA_ROOT'),
    maxQueuedJobs: int(src, 'PRISM_MAX_QUEUED_JOBS', 100, 1, 1_000_000),
    compute: compute(src),
    trustProxy: trustProxy(src.PRISM_TRUST_PROXY),
    logLevel: oneOf(src, 'PRISM_LOG_LEVEL', 'info', [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
  };
}

/** PRISM_COMPUTE; 'gpu' without tfjs-node-gpu would fail every job, so it fails the start instead. */
function compute(src: Source): ComputeChoice {
  const choice = oneOf(src, 'PRISM_COMPUTE', 'auto', COMPUTE_CHOICES);
  const why = unavailableChoice(choice);
  if (why) throw new ConfigError('PRISM_COMPUTE', `"${choice}" ${why}`);
  return choice;
}

/**
 * PRISM_JOB_MEMORY_MB: unset = what is free, 0 = no check, else at least 64 (a job's heap alone grows by
 * ~32 MiB, so a smaller budget would refuse every job).
 */
function jobMemory(src: Source): number | null {
  const mb = optionalInt(src, 'PRISM_JOB_MEMORY_MB', 0, 2 ** 24);
  if (mb !== null && mb > 0 && mb < 64)
    throw new ConfigError('PRISM_JOB_MEMORY_MB', `must be 0 (no check) or at least 64 (MiB), got ${mb}`);
  return mb;
}

/** Creates the database's directory when the path is a file path. */
export function ensureDbDir(dbPath: string): void {
  if (dbPath === ':memory:') return;
  const dir = dirname(resolve(dbPath));
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
}

function readConfigFile(path: string | undefined): Source {
  if (!path) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError('PRISM_CONFIG', `cannot read JSON config file ${path}: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('PRISM_CONFIG', `${path} must hold a JSON object`);
  }
  const out: Source = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(KNOWN as readonly string[]).includes(key)) {
      throw new ConfigError(key, `unknown setting in ${path} (known: ${KNOWN.join(', ')})`);
    }
    // Like an empty environment variable, null or "" leaves the setting at its default.
    if (value === null || value === '') continue;
    out[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}

function int(src: Source, name: string, dflt: number, min: number, max: number): number {
  const raw = src[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** An integer within [min, max], or null when unset (a setting whose absence means something of its own). */
function optionalInt(src: Source, name: string, min: number, max: number): number | null {
  return (src[name] ?? '') === '' ? null : int(src, name, min, min, max);
}

function bool(src: Source, name: string, dflt: boolean): boolean {
  const raw = src[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return dflt;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${src[name]}"`);
}

/** A data spec whose syntax is checked now; whether its directory exists, when a bootstrap needs it. */
function dataSpec(src: Source, name: string, dflt: string): string {
  const spec = nonEmpty(src, name, dflt);
  try {
    parseDataSpec(spec);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
  return spec;
}

/** `true`/`false`, a hop count, or comma-separated addresses/CIDRs (e.g. `10.0.0.0/8,127.0.0.1`). */
function trustProxy(raw: string | undefined): boolean | number | string[] {
  const v = raw?.trim().toLowerCase();
  if (!v || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  const list = v.split(',').map((x) => x.trim());
  if (!list.every(isAddressOrCidr))
    throw new ConfigError(
      'PRISM_TRUST_PROXY',
      `must be true, false, a hop count or addresses/CIDRs, got "${raw}"`,
    );
  return list;
}

/** An IPv4/IPv6 address, optionally with a prefix length within its family's bits (`10.0.0.0/8`). */
function isAddressOrCidr(x: string): boolean {
  const [address, prefix, ...rest] = x.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** An existing directory, resolved to an absolute path; unset = null. */
function directory(src: Source, name: string): string | null {
  const raw = src[name]?.trim();
  if (!raw) return null;
  const path = resolve(raw);
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new ConfigError(name, `${raw} is not an existing directory`);
  return realpathSync(path); // symlinks resolved once, as data paths are compared resolved
}

function nonEmpty(src: Source, name: string, dflt: string): string {
  const raw = src[name];
  if (raw === undefined) return dflt;
  if (raw.trim() === '') throw new ConfigError(name, 'must not be empty');
  return raw.trim();
}

function oneOf<T extends string>(src: Source, name: string, dflt: T, allowed: readonly T[]): T {
  const raw = src[name];
  if (raw === undefined || raw === '') return dflt;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `N` (per minute) or `N/W` with W like `10s`, `1m`, `1h`. */
/** Comma-separated keys; unset or blank = none (authentication off), but a list of only commas is a mistake. */
function apiKeys(raw: string | undefined): string[] {
  const keys = (raw ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
  if (keys.length === 0 && (raw ?? '').trim() !== '')
    throw new ConfigError('PRISM_API_KEYS', `holds no key, only separators ("${raw}")`);
  return keys;
}

function rateLimit(raw: string | undefined): ServerConfig['rateLimit'] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'off') return null;
  const m = /^(\d+)(?:\/(\d*)([smh]))?$/.exec(raw.trim());
  if (!m || Number(m[1]) < 1) {
    throw new ConfigError('PRISM_RATE_LIMIT', `must look like 100, 100/1m, 20/10s or off, got "${raw}"`);
  }
  const count = m[2] ? Number(m[2]) : 1;
  const unit = m[3] ?? 'm';
  const timeWindowMs = count * UNIT_MS[unit];
  // A zero window would never limit anything; one beyond a day is a typo more likely than a wish.
  if (timeWindowMs < 1000 || timeWindowMs > 86_400_000)
    throw new ConfigError('PRISM_RATE_LIMIT', `the window must be between 1s and 24h, got "${raw}"`);
  return { max: Number(m[1]), timeWindowMs };
}
