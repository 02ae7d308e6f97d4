/**
 * What every bench script shares: errors end it as the `prism` CLI's do (one `bench: …` line and exit 2
 * for a bad flag or a missing data directory, the stack only for a bug) — imported first, so this holds
 * for errors thrown while the script's top level runs — and the data-root check that runs before any work.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type FlagSpec, type Flags, formatHelp, parseArgs } from '../src/cli/args.ts';
import { reportFailure } from '../src/cli/fail.ts';
import { MlError } from '../src/ml/core/errors.ts';

const fail = (err: unknown): never => process.exit(reportFailure('bench', err));
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

/** The `--data-root` flag every real-data bench takes. */
export const DATA_ROOT_FLAG = {
  type: 'string',
  default: '../shared/data',
  help: 'directory holding ml-1m/ and hetrec2011-lastfm-2k/',
} as const;

/** The script's flags (`--help` prints `usage` and the options, then exits). */
export function benchFlags<S extends FlagSpec>(usage: string, spec: S): Flags<S> {
  const { flags, help } = parseArgs(process.argv.slice(2), spec);
  if (help) {
    process.stdout.write(formatHelp(usage, spec));
    process.exit(0);
  }
  return flags;
}

/** `root/sub`, refused (naming --data-root) unless it is a directory. */
export function dataDir(root: string, sub: string): string {
  const dir = join(root, sub);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new MlError(
      'BAD_FILE',
      `--data-root ${root}: no ${sub}/ directory there (pass the directory that holds ml-1m/ and hetrec2011-lastfm-2k/)`,
      'data-root',
    );
  return dir;
}
