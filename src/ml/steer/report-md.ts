import type { InterventionsReport, TargetCheck } from './measure.ts';

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const num = (x: number, d = 3) => x.toFixed(d);

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function target(name: string, t: TargetCheck): string {
  return `- **${name}** — ${t.rule}: ${t.met ? `met (from strength ${t.strength})` : 'not met at any measured strength'}`;
}

/** The report.md section for `measureInterventions`' result. */
export function renderInterventionsMarkdown(r: InterventionsReport): string {
  const out: string[] = [];
  out.push(`## Interventions — ${r.dataset}, ${r.recommender.toUpperCase()} (${r.users} users)`);
  out.push('');
  out.push(target('Filtering', r.targets.filtering));
  out.push(target('Promotion', r.targets.promotion));
  out.push(target('Popularity', r.targets.popularity));
  out.push('');
  out.push('How items and neurons were chosen:');
  for (const c of r.choices) out.push(`- ${c}`);
  out.push('');
  out.push('### Filtering (suppress a concept for the users who see most of it)');
  out.push('');
  out.push(
    table(
      [
        'concept',
        'neurons',
        'codes edited',
        'mode',
        'strength',
        'users',
        'share before',
        'share after',
        'cut',
        'collateral RBO',
        'untargeted lists changed',
      ],
      r.filtering.map((f) => [
        f.concept,
        f.neurons.length > 3 ? `${f.neurons.length} (best ${f.neuron})` : f.neurons.join(', '),
        f.on === 'items' ? 'items (as seen by the users)' : 'users',
        f.mode,
        String(f.strength),
        String(f.users),
        pct(f.share_before),
        pct(f.share_after),
        f.share_before > 0 ? pct(1 - f.share_after / f.share_before) : '–',
        num(f.collateral_rbo),
        `${f.untargeted_changed} / ${f.untargeted_checked}`,
      ]),
    ),
  );
  out.push('');
  out.push('Collateral RBO: p = 0.9, depth 30, truncated (identical lists score 0.958).');
  out.push('');
  out.push('### Promotion (boost an item along a concept neuron)');
  out.push('');
  out.push(
    table(
      [
        'item',
        'concept',
        'neuron',
        'strength',
        'audience',
        'enters top-30',
        'enters top-10',
        'others rising (top-30)',
      ],
      r.promotion.map((p) => [
        `${p.item} ${p.title}`,
        p.concept,
        String(p.neuron),
        String(p.strength),
        String(p.audience),
        pct(p.success_top30),
        pct(p.success_top10),
        `${pct(p.others_rising)} of ${p.others}`,
      ]),
    ),
  );
  out.push('');
  out.push('### Popularity (scale the popularity neurons; negative = dampen)');
  out.push('');
  out.push(
    table(
      [
        'on',
        'strength',
        'long-tail before',
        'long-tail after',
        'HR@10 before',
        'HR@10 after',
        'NDCG@10 before',
        'NDCG@10 after',
      ],
      r.popularity.map((p) => [
        p.on,
        String(p.strength),
        pct(p.longtail_before),
        pct(p.longtail_after),
        num(p['hr@10_before']),
        num(p['hr@10_after']),
        num(p['ndcg@10_before']),
        num(p['ndcg@10_after']),
      ]),
    ),
  );
  out.push('');
  return out.join('\n');
}
