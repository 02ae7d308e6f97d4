import { describe, expect, it } from 'vitest';
import type { Dataset } from '../../../src/ml/data/types.ts';
import type { ReproduceReport } from '../../../src/ml/pipeline/report.ts';
import { reportMarkdown, targetLines } from '../../../src/ml/pipeline/report-md.ts';

/** The fields targetLines reads, around a headline's eras. */
const report = (eras: ReproduceReport['headline']['eras']): ReproduceReport =>
  ({
    fidelity: { 'rbo@30': 0.6, 'kendall@30': 0.4 },
    ms: { embedding: 0.5 },
    sae: { l0_items: 12 },
    concepts: [],
    headline: { popularity: null, eras, concepts_purity20_ge_080: 0 },
  }) as unknown as ReproduceReport;

describe('targetLines: era neurons', () => {
  it('calls the era target not applicable when no item has a release year (Last.FM), not "NOT met"', () => {
    const line = targetLines(report([])).at(-1);
    expect(line).toBe('- era neurons: not applicable (no item among the neurons’ top-50 has a release year)');
  });

  it('still judges the target where there are decades', () => {
    const eras = [
      { decade: 1980, neuron: 16, label: '1980s', decadeShare50: 1 },
      { decade: 1990, neuron: 4, label: '1990s', decadeShare50: 0.5 },
    ];
    expect(targetLines(report(eras)).at(-1)).toBe(
      '- era neurons with ≥ 90 % of their top-50 from one decade: 1980s (#16, 100 %) (target: two decades: NOT met)',
    );
  });
});

type Neuron = ReproduceReport['neurons'][number];
const neuron = (index: number, kind: Neuron['kind'], over: Partial<Neuron> = {}): Neuron =>
  ({
    index,
    label: `n${index}`,
    kind,
    'purity@10': 1,
    'purity@20': 1,
    'purity@50': 1,
    'pop_pct@20': 40,
    'pop_pct@50': 40,
    decade: null,
    'decade_share@50': 0,
    top_items: ['i1', 'i2', 'i3'],
    ...over,
  }) as Neuron;

/** Every field reportMarkdown reads, with `neurons` as given. */
const fullReport = (neurons: Neuron[]): ReproduceReport =>
  ({
    seed: 0,
    dataset: { name: 'toy', users: 3, items: 3, interactions: 9 },
    recommender: { model: 'mf', dim: 4, 'hr@10': 0.5, 'ndcg@10': 0.3 },
    sae: {
      ...{ latents: 64, k: 8, user_k: 8, shared: true, matryoshka: null, coding: 'encoder' },
      ...{ alpha: 1, beta: 1, l1: 0, kl: 0, rho: 0.1, epochs: 1, l0_items: 8, l0_users: 8, dead: 0 },
      ...{ dead_items: 0, explained_variance: 0.9, explained_variance_items: 0.9 },
      ...{ explained_variance_users: 0.9, rel_error_items: 0.1, rel_error_users: 0.1 },
    },
    fidelity: {
      ...{ users: 1, 'rbo@30': 0.9, 'kendall@30': 0.8, 'hr@10': 0.5, 'ndcg@10': 0.3 },
      ...{ 'hr@10_original': 0.5, 'ndcg@10_original': 0.3, eval_users: 1 },
      samples: [{ user: 'u1', original: ['i1', 'i2'], reconstructed: ['i2', 'i1'] }],
    },
    ms: { embedding: 0.8, metadata: 0.5 },
    timings: { total_s: 1 },
    cpu_s: 1,
    peak_rss_mb: 100,
    headline: { popularity: null, eras: [], concepts_purity20_ge_080: 0 },
    concepts: [],
    neurons,
  }) as unknown as ReproduceReport;

const toyDataset = {
  items: {
    index: new Map([
      ['i1', 0],
      ['i2', 1],
      ['i3', 2],
    ]),
  },
  itemTitles: ['Alpha (1990)', 'Beta (1991)', 'Gamma (1992)'],
} as unknown as Dataset;

describe('reportMarkdown', () => {
  it('lists the popularity and era neurons even when 30 purer concept neurons fill the top table', () => {
    const neurons = [
      ...Array.from({ length: 40 }, (_, j) => neuron(j, 'concept')),
      neuron(50, 'era', { 'purity@20': 0, decade: 1990, 'decade_share@50': 0.96 }),
      neuron(51, 'popularity', { 'purity@20': 0, 'pop_pct@50': 1.4 }),
    ];
    const md = reportMarkdown(fullReport(neurons), toyDataset);
    const [top, rest] = md.split('## Popularity and era neurons');
    expect(top).toContain('| 29 |');
    expect(top).not.toContain('| 30 |');
    expect(rest).toMatch(/\| 51 \| n51 \| popularity \|[^\n]*\n\| 50 \| n50 \| era \|/);
  });

  it("says the SAE row's k is the training one when codes come by pursuit (users may get more atoms)", () => {
    const r = fullReport([]);
    expect(reportMarkdown(r, toyDataset)).toMatch(/TopK k = 8 \(users 8\), shared/);
    r.sae.coding = 'pursuit (items: 8 of encoder top-10; users: 12 of all)';
    expect(reportMarkdown(r, toyDataset)).toContain(
      'TopK k = 8 (users 8) in training (served codes: next row)',
    );
  });

  it('shows fidelity samples with titles', () => {
    const md = reportMarkdown(fullReport([]), toyDataset);
    expect(md).toContain('original: i1 Alpha (1990); i2 Beta (1991)');
    expect(md).not.toContain('## Popularity and era neurons');
  });
});
