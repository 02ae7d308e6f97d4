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
  if (name === 'help' && rest[0] && rest[0] in commands) {
    await (await commands[rest[0]]()).run(['--help']);
    return;
  }
  const asksForHelp = name === '--help' || name === '-h' || name === 'help';
  if (!name || asksForHelp || !(name in commands)) {
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
    process.stderr.write(`${usage}${name ? `prism: unknown command "${name}"\n` : ''}`);
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
