/**
 * `prism <command> [--flags]`. Each command lives in its own file under ./commands and calls the same
 * src/ml functions the background jobs call.
 */
import { reportFailure } from './fail.ts';

type CommandModule = { run(argv: string[]): Promise<void>; summary: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  train: () => import('./commands/train.ts'),
  reproduce: () => import('./commands/reproduce.ts'),
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || !(name in commands)) {
    const lines = await Promise.all(
      Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(12)} ${(await load()).summary}`),
    );
    const usage = `usage: prism <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
    if (name === '--help' || name === '-h') {
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

main(process.argv.slice(2)).catch((err: unknown) => {
  process.exitCode = reportFailure('prism', err);
});
