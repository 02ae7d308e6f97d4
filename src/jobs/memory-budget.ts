import { freemem } from 'node:os';

/** What a job may allocate, and where that figure came from (for the job's error message). */
export interface MemoryBudget {
  bytes: number;
  source: string;
}

/**
 * The memory budget of a job starting now: `configuredMb` (PRISM_JOB_MEMORY_MB) when set, else what is
 * free — the machine's available memory, or less when the process runs under a cgroup limit (a container),
 * that limit minus what the process already holds (the served models, other jobs). null = no check (0).
 */
export function jobMemoryBudget(configuredMb: number | null): MemoryBudget | null {
  if (configuredMb === 0) return null;
  if (configuredMb !== null) return { bytes: configuredMb * 2 ** 20, source: 'PRISM_JOB_MEMORY_MB' };
  const available = freemem();
  // Node answers 2^64 (or 0 on older versions) when the process has no limit of its own.
  const limit = process.constrainedMemory?.() ?? 0;
  const contained = limit > 0 && limit < 2 ** 62;
  const left = contained ? Math.min(available, limit - process.memoryUsage().rss) : available;
  return {
    bytes: Math.max(0, left),
    source: contained
      ? 'what the container’s memory limit leaves free; PRISM_JOB_MEMORY_MB sets it'
      : 'the memory free on this machine now; PRISM_JOB_MEMORY_MB sets it',
  };
}
