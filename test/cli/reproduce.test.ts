import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/commands/reproduce.ts';
import { writeOutputs } from '../../src/cli/output.ts';
import { cudaPackageInstalled } from '../../src/ml/nn/tfjs-kernel.ts';
import { temporaryDirectories } from '../helpers/temp.ts';

const tempDir = temporaryDirectories();

afterEach(() => vi.restoreAllMocks());

describe('prism reproduce refuses bad options before it trains anything', () => {
  const data = 'synthetic:users=60,items=40,seed=1';
  for (const [args, message] of [
    [['--sae', '{"latent":64}'], /--sae: SAE option latent: is not an SAE option/],
    [['--sae', '"abc"'], /--sae: must be a JSON object/],
    [['--sae', 'null'], /--sae: must be a JSON object/],
    [['--sae', '{"k":"8"}'], /--sae: SAE option k: must be a number, got "8"/],
    // JSON values of the wrong type once changed the run silently ("no" is truthy; true switched pursuit on).
    [['--sae', '{"shared":"no"}'], /--sae: SAE option shared: must be true or false, got "no"/],
    [['--sae', '{"pursuit":true}'], /--sae: SAE option pursuit: must be an object/],
    [['--sae', '{"pairSampling":[]}'], /--sae: SAE option pairSampling: names no pair source/],
    [['--sae', '{"init":"bogus"}'], /--sae: SAE option init: must be data or random/],
    [['--sae', '{"lr":1e400}'], /--sae: SAE option lr: must be a finite number/],
    // Sizes that would crash the process (a V8 fatal error, a RangeError) are refused first.
    [['--sae', '{"latents":3000000000}'], /--sae: SAE option latents: must be an integer in 1\.\.65536/],
    [['--sae', '{"pairsPerStep":1000000000}'], /--sae: SAE option pairsPerStep: must be an integer/],
    [['--sae', '{"seed":-1}'], /--sae: SAE option seed: must be an integer in \[0, 2\^32\)/],
    [['--sae', '{"pursuit":{"user_k":3}}'], /--sae: SAE option pursuit\.user_k: is not a pursuit option/],
    [['--frontier', '{}'], /--frontier: must be "standard" or a non-empty JSON array/],
    [['--frontier', '[1]'], /--frontier\[0\]: must be a JSON object/],
    [['--frontier', '[{"k":4},{"k":99999}]'], /--frontier\[1\]: SAE option k/],
    // The fidelity setting's item pool follows each row's k (here 16, over a pool of 10 at the chosen k).
    [
      ['--setting', 'fidelity', '--sae', '{"latents":64}', '--frontier', '[{"k":16},{"k":99999}]'],
      /--frontier\[1\]: SAE option k/,
    ],
    [
      ['--setting', 'fidelity', '--frontier', 'standard'],
      /standard frontier explores around the concepts setting/,
    ],
    ...(cudaPackageInstalled()
      ? []
      : ([[['--compute', 'gpu'], /--compute gpu needs @tensorflow\/tfjs-node-gpu installed/]] as const)),
  ] as const)
    it(`${args.join(' ')}`, async () => {
      const out = join(tempDir('prism-reproduce-'), 'out');
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      await expect(run(['--data', data, ...args, '--out', out])).rejects.toThrow(message);
      // Nothing ran: no progress was drawn and --out was never created.
      expect(stderr).not.toHaveBeenCalled();
      expect(existsSync(out)).toBe(false);
    });

  it('data on which no user can be tested, before training (once a report of NaNs, exit 0)', async () => {
    const dir = tempDir('prism-reproduce-');
    const rows = [1, 2, 3, 4].flatMap((u) => [1, 2, 3, 4, 5, 6].map((i) => `${u},${i}`));
    writeFileSync(join(dir, 'tiny.csv'), `${rows.join('\n')}\n`);
    const out = join(dir, 'out');
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(run(['--data', `csv:${join(dir, 'tiny.csv')}`, '--out', out])).rejects.toThrow(
      /^data: no user has the 10 positives needed .* \(4 users, 24 interactions\)$/,
    );
    expect(existsSync(join(out, 'report.json'))).toBe(false);
  });

  it('options the catalogue-sized dictionary cannot take, after loading but before training', async () => {
    const out = join(tempDir('prism-reproduce-'), 'out');
    const stages: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stages.push(String(chunk));
      return true;
    });
    // 100 items size the 1024-latent dictionary down to 32, below this userK and this frontier row's k.
    const small = 'synthetic:users=200,items=100,seed=1';
    await expect(run(['--data', small, '--sae', '{"userK":100}', '--out', out])).rejects.toThrow(
      /^--sae \(the dictionary was sized to the catalogue: 100 items, 32 latents; name "latents" to keep a width\): SAE option userK: must be an integer in 1\.\.latents \(32\), got 100$/,
    );
    await expect(run(['--data', small, '--frontier', '[{"k":40}]', '--out', out])).rejects.toThrow(
      /^--frontier\[0\] \(the dictionary was sized .*\): SAE option k/,
    );
    expect(stages.join('')).not.toMatch(/recommender/);
    expect(existsSync(out)).toBe(false);
  });

  it('marks the main report it saves before the extras as partial, and the finished one not', async () => {
    const out = join(tempDir('prism-reproduce-'), 'out');
    let partial: { extras_pending?: string[] } | undefined;
    let partialMd = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      if (String(chunk).includes('now the extras')) {
        partial = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
        partialMd = readFileSync(join(out, 'report.md'), 'utf8');
      }
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const sae = '{"latents":32,"k":4,"matryoshka":[],"epochs":2}';
    await run(['--data', data, '--sae', sae, '--frontier', '[{"k":2}]', '--out', out]);
    expect(partial?.extras_pending).toEqual(['frontier']);
    expect(partialMd).toContain('**Partial:** written before the extras ran (frontier)');
    const final = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(final.extras_pending).toBeUndefined();
    expect(final.frontier).toHaveLength(1);
  });

  it('an --out that cannot be a directory, naming the flag', async () => {
    const file = join(tempDir('prism-reproduce-'), 'a-file');
    writeFileSync(file, '');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(run(['--data', data, '--out', file])).rejects.toThrow(
      /--out .*a-file: is a file, or lies under one \(it must be a directory\)$/,
    );
    await expect(run(['--data', data, '--out', join(file, 'sub')])).rejects.toThrow(
      /--out .*sub: is a file, or lies under one/,
    );
    expect(stderr).not.toHaveBeenCalled();
  });
});

describe('writeOutputs', () => {
  it('writes every file or none: a failure leaves the earlier outputs and no temporary files', () => {
    const dir = tempDir('prism-outputs-');
    writeOutputs(dir, { 'a.json': 'old a', 'b.md': 'old b' });
    mkdirSync(join(dir, 'c.bin')); // a directory where a file must go: its rename fails
    expect(() => writeOutputs(dir, { 'a.json': 'new a', 'c.bin': new Uint8Array([1]) })).toThrow(/--out/);
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('old a');
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.md', 'c.bin']);
    writeOutputs(dir, { 'a.json': 'new a', 'b.md': 'new b' });
    expect(readFileSync(join(dir, 'b.md'), 'utf8')).toBe('new b');
  });
});

describe('prism reproduce into an --out an earlier run used', () => {
  it("says that the earlier run's weights, which it does not replace without --weights, are not this report's", async () => {
    const out = join(tempDir('prism-reproduce-'), 'out');
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const args = ['--sae', '{"latents":32,"k":4,"matryoshka":[],"epochs":1}', '--out', out];
    await run(['--data', 'synthetic:users=60,items=40,seed=1', '--weights', ...args]);
    expect(stderr.join('')).not.toMatch(/earlier run/);
    await run(['--data', 'synthetic:users=60,items=40,seed=2', ...args]);
    expect(readdirSync(out).sort()).toEqual(['recommender.prsm', 'report.json', 'report.md', 'sae.prsm']);
    expect(stderr.join('')).toContain(
      `note: ${join(out, 'recommender.prsm')} and ${join(out, 'sae.prsm')} are from an earlier run, not this report's (--weights writes this run's)`,
    );
  });
});
