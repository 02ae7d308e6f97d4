import { MlError } from '../ml/core/errors.ts';

/**
 * A tiny, typed flag parser for the `prism` commands: `--name value`, `--name=value`, booleans as
 * `--name` / `--no-name`, `--help`. Errors name the flag and say what was expected.
 */
export type FlagType = 'string' | 'number' | 'integer' | 'boolean';

export interface FlagDef {
  type: FlagType;
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  min?: number; // numbers: inclusive lower bound
  above?: number; // numbers: exclusive lower bound (a learning rate must be > 0)
  max?: number; // numbers: inclusive upper bound
}

export type FlagSpec = Record<string, FlagDef>;

type ValueOf<T extends FlagType> = T extends 'boolean' ? boolean : T extends 'string' ? string : number;

export type Flags<S extends FlagSpec> = {
  [K in keyof S]: S[K] extends { default: string | number | boolean }
    ? ValueOf<S[K]['type']>
    : ValueOf<S[K]['type']> | undefined;
};

export interface Parsed<S extends FlagSpec> {
  flags: Flags<S>;
  help: boolean;
}

const fail = (flag: string, why: string): never => {
  throw new MlError('BAD_CONFIG', `--${flag}: ${why}`, flag);
};

export function parseArgs<S extends FlagSpec>(argv: readonly string[], spec: S): Parsed<S> {
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, def] of Object.entries(spec)) values[name] = def.default;
  let help = false;
  let lastBoolean: string | null = null; // a boolean flag just read without a value
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    const afterBoolean = lastBoolean;
    lastBoolean = null;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    // No command takes loose arguments: one is a mistyped flag (`-k 3`) or a forgotten `--data`.
    if (!arg.startsWith('--'))
      throw new MlError(
        'BAD_CONFIG',
        afterBoolean
          ? `unexpected argument "${arg}": --${afterBoolean} takes no value (write --${afterBoolean}, or --${afterBoolean}=false)`
          : `unexpected argument "${arg}" (flags are written --name value)`,
        afterBoolean ?? arg,
      );
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (!(name in spec) && name.startsWith('no-') && spec[name.slice(3)]?.type === 'boolean') {
      if (inline !== undefined) fail(name, 'takes no value');
      name = name.slice(3);
      inline = 'false';
    }
    const def = spec[name];
    if (!def)
      fail(
        name,
        `unknown flag (known: ${Object.keys(spec)
          .map((n) => `--${n}`)
          .join(', ')})`,
      );
    if (def.type === 'boolean') {
      if (inline === undefined) {
        values[name] = true;
        lastBoolean = name;
      } else if (inline === 'true' || inline === 'false') values[name] = inline === 'true';
      else fail(name, `expected true or false, got "${inline}"`);
      continue;
    }
    const raw = inline ?? argv[++k];
    if (raw === undefined || (inline === undefined && raw.startsWith('--')))
      fail(name, `missing value (${def.help})`);
    values[name] = convert(name, def, raw);
  }
  return { flags: values as Flags<S>, help };
}

function convert(name: string, def: FlagDef, raw: string): string | number {
  if (def.type === 'string') {
    if (def.choices && !def.choices.includes(raw))
      fail(name, `expected one of ${def.choices.join(', ')}, got "${raw}"`);
    return raw;
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) fail(name, `expected a number, got "${raw}"`);
  if (def.type === 'integer' && !Number.isInteger(n)) fail(name, `expected an integer, got "${raw}"`);
  if (def.min !== undefined && n < def.min) fail(name, `must be ≥ ${def.min}, got ${n}`);
  if (def.above !== undefined && !(n > def.above)) fail(name, `must be > ${def.above}, got ${n}`);
  if (def.max !== undefined && n > def.max) fail(name, `must be ≤ ${def.max}, got ${n}`);
  return n;
}

/** `usage` plus one line per flag, for --help. */
export function formatHelp(usage: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, def]) => ({
    left: def.type === 'boolean' ? `--${name}` : `--${name} <${def.choices?.join('|') ?? def.type}>`,
    right: def.default !== undefined ? `${def.help} (default ${def.default})` : def.help,
  }));
  const width = Math.max(0, ...rows.map((r) => r.left.length));
  const lines = rows.map((r) => `  ${r.left.padEnd(width)}  ${r.right}`);
  return `usage: ${usage}\n\noptions:\n${lines.join('\n')}\n`;
}
