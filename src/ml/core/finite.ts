import { MlError } from './errors.ts';

/**
 * Refuses weights that hold NaN or ±Infinity (training diverged): downstream they would not fail but
 * quietly skew every metric (a NaN-scored item drops out of a ranking, a NaN code takes a TopK slot that
 * L0 does not count). `tables` maps a name to a flat table; `rowLength` per table locates the first bad
 * row in the message.
 */
export function assertFinite(
  what: string,
  tables: Record<string, { values: Float32Array; rowLength?: number } | undefined>,
  hint: string,
): void {
  for (const [name, table] of Object.entries(tables)) {
    if (!table) continue;
    const { values, rowLength = values.length || 1 } = table;
    for (let i = 0; i < values.length; i++) {
      if (Number.isFinite(values[i])) continue;
      const where = rowLength < values.length ? ` (row ${Math.floor(i / rowLength)})` : '';
      throw new MlError('DIVERGED', `${what}: ${name} holds ${values[i]}${where}; ${hint}`, name);
    }
  }
}
