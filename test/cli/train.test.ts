import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../../src/cli/args.ts';
import { run } from '../../src/cli/commands/train.ts';
import { checkOutDir, writeOutputs } from '../../src/cli/output.ts';
import { neighbourhoodCoherence } from '../../src/ml/eval/monosemanticity.ts';
import { loadRecommender } from '../../src/ml/models/serialize.ts';
import { cudaPackageInstalled } from '../../src/ml/nn/tfjs-kernel.ts';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('prism train', () => {
  it('trains on a small synthetic dataset and writes recommender.prsm and train.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'prism-train-'));
    dirs.push(out);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await run(['--data', 'synthetic:users=150,items=60,seed=2', '--dim', '8', '--epochs', '3', '--out', out]);
    const report = JSON.parse(readFileSync(join(out, 'train.json'), 'utf8'));
    expect(report.dataset).toMatchObject({ name: 'synthetic', users: 150, items: 60 });
    expect(report.dataset.interactions).toBeGreaterThan(150);
    expect(report).toMatchObject({ model: 'mf', dim: 8, epochs: 3, compute: 'js' });
    for (const key of ['hr@10', 'ndcg@10', 'mrr@10']) {
      expect(report.metrics[key]).toBeGreaterThan(0);
      expect(report.metrics[key]).toBeLessThanOrEqual(1);
    }
    expect(Object.keys(report.timings)).toEqual(expect.arrayContaining(['load_s', 'train_s', 'eval_s']));
    expect(report.peak_rss_mb).toBeGreaterThan(10);
    const model = loadRecommender(readFileSync(join(out, 'recommender.prsm')));
    expect(model).toMatchObject({ kind: 'mf', nUsers: 150, nItems: 60, dim: 8 });
    const coherence = neighbourhoodCoherence(model.params.itemEmb, model.dim);
    expect(report.geometry.item_coherence).toBeCloseTo(coherence.mean, 4);
    expect(report.geometry.item_coherence_best).toBeCloseTo(coherence.best, 4);
    expect(report.geometry.best_centres).toBe(60);
    expect(String(stdout.mock.calls.map((c) => c[0]).join(''))).toMatch(/HR@10 [01]\.\d{4}/);
  });

  it("runs NCF's MLP on the kernel --compute names, and says so", async () => {
    const out = mkdtempSync(join(tmpdir(), 'prism-train-'));
    dirs.push(out);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const args = ['--data', 'synthetic:users=60,items=40,seed=2', '--model', 'ncf', '--dim', '4'];
    await run([...args, '--epochs', '1', '--compute', 'wasm', '--out', out]);
    expect(JSON.parse(readFileSync(join(out, 'train.json'), 'utf8')).compute).toBe('wasm');
    if (!cudaPackageInstalled())
      await expect(run([...args, '--compute', 'gpu', '--out', join(out, 'gpu')])).rejects.toThrow(
        /--compute gpu needs @tensorflow\/tfjs-node-gpu installed/,
      );
  });

  it('names the flag in argument errors', async () => {
    await expect(run(['--model', 'svd'])).rejects.toThrow(/--model: expected one of mf, ncf/);
    await expect(run(['--dim', 'x'])).rejects.toThrow(/--dim: expected a number/);
    await expect(run(['--dim', '100000000'])).rejects.toThrow(/--dim: must be ≤ 4096/);
    await expect(run(['--frobnicate', '1'])).rejects.toThrow(/--frobnicate: unknown flag/);
    await expect(run(['--seed', '-1'])).rejects.toThrow(/--seed: must be ≥ 0/);
    await expect(run(['--seed', String(2 ** 32)])).rejects.toThrow(/--seed: must be ≤ 4294967295/);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(
      run(['--data', 'synthetic:users=30,items=20,seed=1', '--holdout', '1000', '--out', tmpdir()]),
    ).rejects.toThrow(/--holdout 1000: no user has enough positives/);
    await expect(
      run(['--data', 'synthetic:users=30,items=20,seed=1', '--k', '20', '--out', tmpdir()]),
    ).rejects.toThrow(/--k 20: must be below the catalogue's 20 items/);
    await expect(run(['--model', 'ncf', '--objective', 'logistic'])).rejects.toThrow(
      /--objective: applies to --model mf only/,
    );
    await expect(run(['--epochs', '0'])).rejects.toThrow(/--epochs: must be ≥ 1/);
    await expect(run(['--lr', '0'])).rejects.toThrow(/--lr: must be > 0, got 0/);
    // iALS has no learning rate: --lr was once dropped without a word.
    await expect(run(['--lr', '0.1'])).rejects.toThrow(
      /--lr: applies to --model ncf or --objective logistic/,
    );
  });

  it('a run that fails on its data leaves no empty --out behind (an existing one stays)', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'prism-train-fail-'));
    dirs.push(parent);
    const out = join(parent, 'a', 'b');
    await expect(run(['--data', `csv:${join(parent, 'none.csv')}`, '--out', out])).rejects.toThrow(
      /not found/,
    );
    expect(readdirSync(parent)).toEqual([]);
    await expect(run(['--data', `csv:${join(parent, 'none.csv')}`, '--out', parent])).rejects.toThrow(
      /not found/,
    );
    expect(existsSync(parent)).toBe(true);
  });

  it('--out is checked before training without being created (an interrupted run leaves no folder)', () => {
    const parent = mkdtempSync(join(tmpdir(), 'prism-out-check-'));
    dirs.push(parent);
    checkOutDir(join(parent, 'a', 'b'));
    expect(readdirSync(parent)).toEqual([]);
    writeFileSync(join(parent, 'file'), '');
    expect(() => checkOutDir(join(parent, 'file', 'x'))).toThrow(/--out .*: is a file, or lies under one/);
    expect(() => checkOutDir(join(parent, 'file'))).toThrow(/is a file/);
    expect(() => checkOutDir('')).toThrow(/--out : is empty/);
    symlinkSync(join(parent, 'nowhere'), join(parent, 'dangling'));
    expect(() => checkOutDir(join(parent, 'dangling'))).toThrow(/--out .*dangling/);
    writeOutputs(join(parent, 'a', 'b'), { 'x.json': '{}' }); // made when the outputs are written
    expect(readdirSync(join(parent, 'a', 'b'))).toEqual(['x.json']);
  });
});

describe('parseArgs', () => {
  const spec = {
    n: { type: 'integer', default: 3, min: 1, max: 9, help: 'count' },
    name: { type: 'string', help: 'a name' },
    fast: { type: 'boolean', default: false, help: 'go fast' },
  } as const;

  it('parses --k v, --k=v and booleans, keeping defaults', () => {
    const p = parseArgs(['--n=7', '--name', 'x', '--fast'], spec);
    expect(p.flags).toEqual({ n: 7, name: 'x', fast: true });
    expect(parseArgs(['--no-fast'], spec).flags).toEqual({ n: 3, name: undefined, fast: false });
    expect(parseArgs(['--help'], spec).help).toBe(true);
  });

  it('rejects missing values, non-integers and values below the minimum', () => {
    expect(() => parseArgs(['--name'], spec)).toThrow(/--name: missing value/);
    expect(() => parseArgs(['--n', '2.5'], spec)).toThrow(/--n: expected an integer/);
    expect(() => parseArgs(['--n', '0'], spec)).toThrow(/--n: must be ≥ 1/);
    expect(() => parseArgs(['--fast=maybe'], spec)).toThrow(/--fast: expected true or false/);
    expect(() => parseArgs(['--n', '10'], spec)).toThrow(/--n: must be ≤ 9/);
  });

  it('a value after a flag that takes none says so', () => {
    expect(() => parseArgs(['--fast', 'yes'], spec)).toThrow(
      /"yes": --fast takes no value \(write --fast, or --fast=false\)/,
    );
  });

  it('rejects loose arguments: a mistyped flag or a forgotten --data', () => {
    expect(() => parseArgs(['-n', '3'], spec)).toThrow(/unexpected argument "-n"/);
    expect(() => parseArgs(['movielens-1m:/data'], spec)).toThrow(
      /unexpected argument "movielens-1m:\/data"/,
    );
  });
});
