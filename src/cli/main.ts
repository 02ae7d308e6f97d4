/**
 * `prism <command> [--flags]`. Each command lives in its own file under ./commands and calls the same
 * src/ml functions the background jobs call.
 */
import { readFileSync } from 'node:fs';
import { reportFailure } from './fail.ts';

type CommandModule = { run(argv: string[]): Promise<void>; summary: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  train: () => import('./commands/train.ts'),
  reproduce: () => import('./commands/reproduce.ts'),
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const known = (n: string | undefined): n is string => n !== undefined && Object.hasOwn(commands, n);
  if (name === 'help' && known(rest[0])) {
    await (await commands[rest[0]]()).run(['--help']);
    return;
  }
  // `prism help bogus` is an unknown command like `prism bogus`.
  const unknown = name === 'help' ? rest[0] : name;
  const asksForHelp = (name === '--help' || name === '-h' || name === 'help') && rest[0] === undefined;
  if (!name || asksForHelp || !known(name === 'help' ? rest[0] : name)) {
    const lines = await Promise.all(
      Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(12)} ${(await load()).summary}`),
    );
    const usage =
      `usage: prism <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
      '`prism <command> --help` (or `prism help <command>`) lists its options; `prism --version` the version.\n';
    if (asksForHelp) {
      process.stdout.write(usage);
      return;
    }
    // No command or an unknown one is a usage error: usage on stderr, exit 2.
    process.stderr.write(`${usage}${unknown ? `prism: unknown command "${unknown}"\n` : ''}`);
    process.exitCode = 2;
    return;
  }
  await (await commands[name]()).run(rest);
}

function packageVersion(): string {
  const pkg = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(pkg) as { version: string }).version;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportFailure('prism', err);
});
