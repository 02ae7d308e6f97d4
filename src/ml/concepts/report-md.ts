import type { Dataset } from '../data/types.ts';
import type { MatryoshkaHierarchy } from './hierarchy.ts';
import type { EraNeuron, PopularityNeuron } from './summary.ts';
import type { ConceptBest, NeuronInfo } from './types.ts';

/** Small pure markdown renderers for report.md. */

/** Escapes a table cell (pipes, newlines). */
export function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

const f2 = (x: number): string => x.toFixed(2);
const neuronName = (n: NeuronInfo | undefined, index: number): string =>
  n?.label ? `#${index} ${n.label}` : `#${index}`;

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export interface NeuronTableOptions {
  /** Skip unlabelled and dead neurons (default true). */
  labelledOnly?: boolean;
  maxRows?: number;
  /** How many top item titles to show (default 3). */
  titles?: number;
}

/** One row per neuron: label, kind, the purity of its tag, popularity percentile, decade, top titles. */
export function neuronTableMarkdown(
  neurons: NeuronInfo[],
  dataset: Dataset,
  opts: NeuronTableOptions = {},
): string {
  const { labelledOnly = true, maxRows = Number.POSITIVE_INFINITY, titles = 3 } = opts;
  const shown = neurons
    .filter((n) => n.kind !== 'dead' && (!labelledOnly || n.kind !== 'unlabelled'))
    .slice(0, maxRows);
  const rows = shown.map((n) => [
    String(n.index),
    n.label || '—',
    n.kind,
    n.concept ?? (n.bestTag ? `(${n.bestTag})` : '—'), // parentheses: best tag, below the label bar
    `${f2(n.purity10)} / ${f2(n.purity20)} / ${f2(n.purity50)}`,
    `${n.popPct50.toFixed(1)} %`,
    n.decade === null ? '—' : `${n.decade}s (${(n.decadeShare50 * 100).toFixed(0)} %)`,
    n.topItems
      .slice(0, titles)
      .map((i) => dataset.itemTitles[i] ?? dataset.items.ids[i])
      .join('; '),
  ]);
  return markdownTable(
    ['neuron', 'label', 'kind', 'tag', 'purity@10/20/50', 'pop pct@50', 'decade (share@50)', 'top items'],
    rows,
  );
}

/** One row per concept: its best neuron and purity@10/20/50. */
export function conceptTableMarkdown(concepts: ConceptBest[], neurons: NeuronInfo[]): string {
  const rows = concepts.map((c) => [
    c.concept,
    c.neuron < 0 ? '—' : neuronName(neurons[c.neuron], c.neuron),
    f2(c.purity10),
    f2(c.purity20),
    f2(c.purity50),
  ]);
  return markdownTable(['concept', 'best neuron', 'purity@10', 'purity@20', 'purity@50'], rows);
}

/**
 * Nested list: each coarse neuron and the finer neurons that refine it. By default only labelled children
 * are listed (unlabelled ones are counted), and coarse neurons without a listed child are left out.
 */
export function hierarchyMarkdown(
  h: MatryoshkaHierarchy,
  opts: { maxChildren?: number; withChildrenOnly?: boolean; labelledOnly?: boolean } = {},
): string {
  const { maxChildren = 8, withChildrenOnly = true, labelledOnly = true } = opts;
  const name = (n: number, label: string): string => mdCell(label ? `#${n} ${label}` : `#${n}`);
  const lines: string[] = [];
  for (const node of h.nodes) {
    const shown = labelledOnly ? node.children.filter((c) => c.label) : node.children;
    if (withChildrenOnly && shown.length === 0) continue;
    lines.push(`- **${name(node.neuron, node.label)}**`);
    for (const c of shown.slice(0, maxChildren)) {
      const cos = c.cosine === null ? '' : `, decoder cos ${f2(c.cosine)}`;
      lines.push(`  - ${name(c.neuron, c.label)} (co-activation ${f2(c.coactivation)}${cos})`);
    }
    const hidden = node.children.length - Math.min(shown.length, maxChildren);
    if (hidden > 0)
      lines.push(
        `  - … ${hidden} more${labelledOnly ? ' (unlabelled or beyond the first ' + maxChildren + ')' : ''}`,
      );
  }
  if (h.orphans.length > 0)
    lines.push(
      `- (${h.orphans.length} finer neurons with no coarse parent above the co-activation threshold)`,
    );
  return lines.join('\n');
}

/** Two short tables: the popularity neuron and the purest neuron per decade. */
export function headlineNeuronsMarkdown(popularity: PopularityNeuron | null, eras: EraNeuron[]): string {
  const pop = popularity
    ? `Popularity neuron: #${popularity.neuron}${popularity.label ? ` "${popularity.label}"` : ''}, top-20 / top-50 mean popularity percentile ${popularity.popPct20.toFixed(2)} % / ${popularity.popPct50.toFixed(2)} % (0 = most popular).`
    : 'Popularity neuron: none (no neuron is active on 50 items).';
  const rows = eras.map((e) => [
    `${e.decade}s`,
    neuronName(undefined, e.neuron) + (e.label ? ` ${e.label}` : ''),
    `${(e.decadeShare50 * 100).toFixed(0)} %`,
  ]);
  return `${pop}\n\n${markdownTable(['decade', 'purest neuron', 'share of top-50'], rows)}`;
}
