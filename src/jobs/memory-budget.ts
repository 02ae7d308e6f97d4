import { freemem, totalmem } from 'node:os';
import type { MemoryBudget } from '../ml/pipeline/memory.ts';

/** What the machine says about its memory now (a parameter so that tests can stand in for a container). */
export interface SystemMemory {
  /** Bytes the process could still allocate. */
  available: number;
  /** Whether a cgroup limit (a container) bounds the process. */
  contained: boolean;
}

/**
 * On Linux, what libuv reports as available: the cgroup limit minus the whole container's use when there
 * is one (every server process counted), else the machine's available memory (MemAvailable: free pages
 * and reclaimable cache). Elsewhere (macOS, BSD) the free-page count leaves out the file cache and would
 * refuse ordinary jobs on a busy machine, so it is the machine's memory less this process's.
 */
export function systemMemory(): SystemMemory {
  // Node answers 2^64 (or 0 before 20.13) when the process has no limit of its own.
  const limit = process.constrainedMemory?.() ?? 0;
  const contained = limit > 0 && limit < 2 ** 62;
  if (process.platform !== 'linux') return { available: totalmem() - process.memoryUsage().rss, contained };
  const available = process.availableMemory?.() ?? freemem();
  return { available, contained };
}

/**
 * The memory budget of a job checked now: `configuredMb` (PRISM_JOB_MEMORY_MB) when set, else what is
 * available (`systemMemory`). null = no check (0).
 */
export function jobMemoryBudget(
  configuredMb: number | null,
  system: () => SystemMemory = systemMemory,
): MemoryBudget | null {
  if (configuredMb === 0) return null;
  if (configuredMb !== null)
    return { bytes: configuredMb * 2 ** 20, source: 'PRISM_JOB_MEMORY_MB', measured: false };
  const { available, contained } = system();
  return {
    bytes: Math.max(0, available),
    source: contained
      ? 'what the container’s memory limit leaves free now; PRISM_JOB_MEMORY_MB sets it'
      : 'the memory free on this machine now; PRISM_JOB_MEMORY_MB sets it',
    measured: true,
  };
}
