import type { ConceptAnalysis } from '../concepts/analyse.ts';
import type { MatryoshkaHierarchy } from '../concepts/hierarchy.ts';
import type { EraNeuron, PopularityNeuron } from '../concepts/summary.ts';
import type { Dataset } from '../data/types.ts';
import { PURSUIT_DEFAULTS } from '../sae/options.ts';
import type { SaeEvaluation, TrainedRecommender, TrainedSae } from './stages.ts';

/** report.json of `prism reproduce` (issue 3 item 5). Ids are the dataset's own (MovieID, artistID). */
export interface ReproduceReport {
  dataset: { name: string; users: number; items: number; interactions: number };
  recommender: {
    model: 'mf' | 'ncf';
    dim: number;
    'hr@10': number;
    'ndcg@10': number;
    train_s: number;
    /** Test users HR/NDCG were averaged over (a seeded sample for NCF). */
    eval_users: number;
    /**
     * What ran NCF's hidden layers in this run — its training when the run trained it (a train-sae job
     * reuses a stored one), and the full-catalogue scores of evaluation's rankings, fidelity and the SAE's
     * top-scored pairs: the run's kernel ('wasm', 'tensorflow') or the loops ('js', always for MF). Absent
     * in reports written before NCF had kernels (the loops).
     */
    compute?: string;
  };
  sae: {
    latents: number;
    matryoshka: number[] | null;
    alpha: number;
    beta: number;
    l1: number;
    kl: number;
    rho: number;
    train_s: number;
    l0_users: number;
    l0_items: number;
    dead: number;
    explained_variance: number;
    // beyond the required fields
    k: number | null;
    user_k: number | null;
    shared: boolean;
    epochs: number;
    /** The SAE's own seed: the run's `seed` unless the SAE options named another (bench --sae-seeds). */
    seed: number;
    dead_items: number;
    /**
     * Over every row of the side, users included whom the SAE trained on (fidelity, not these, is the
     * held-out measure). rel_error = Σ‖e − ẽ‖² / Σ‖e‖² (uncentred); explained variance is centred.
     */
    explained_variance_users: number;
    explained_variance_items: number;
    rel_error_users: number;
    rel_error_items: number;
    /** How codes are found: 'encoder' (the paper's SAE) or a pursuit description (see src/ml/sae/pursuit.ts). */
    coding: string;
    /**
     * What computed the training batches' encoder products: 'js', 'wasm' or 'tensorflow' (CUDA); absent in
     * reports written before kernels existed (the loops). The β-ablation and frontier SAEs use the same.
     */
    compute?: string;
  };
  fidelity: {
    /** Held-out users whose lists were compared. */
    users: number;
    /** Held-out users with no unseen item (no list to compare), left out of the means. */
    skipped_users: number;
    'rbo@30': number;
    'kendall@30': number;
    /** With reconstructed embeddings, on `eval_users` held-out users that have test items. */
    'hr@10': number;
    'ndcg@10': number;
    /** With the original embeddings, on the same users. */
    'hr@10_original': number;
    'ndcg@10_original': number;
    eval_users: number;
    samples: { user: string; original: string[]; reconstructed: string[] }[];
  };
  ms: { embedding: number; metadata: number };
  neurons: ReportNeuron[];
  concepts: {
    concept: string;
    neuron: number;
    'purity@10': number;
    'purity@20': number;
    'purity@50': number;
  }[];
  headline: {
    popularity: PopularityNeuron | null;
    eras: EraNeuron[];
    /** Concepts (≥ 1 % of items) whose best neuron has purity@20 ≥ 0.8. */
    concepts_purity20_ge_080: number;
  };
  hierarchy: MatryoshkaHierarchy | null;
  ablation?: AblationRow[];
  frontier?: FrontierRow[];
  interventions?: unknown;
  timings: {
    load_s: number;
    recommender_s: number;
    sae_s: number;
    eval_s: number;
    label_s: number;
    /** load → recommender → SAE → evaluation → labels: what `prism reproduce` costs without extras. */
    total_s: number;
    /** The optional stages after it (β ablation, frontier, interventions); 0 without them. */
    extras_s: number;
  };
  /** CPU seconds (user + system) of the process over the same stages. */
  cpu_s: number;
  peak_rss_mb: number;
  seed: number;
  /**
   * Only in a main report saved before the extras run (`prism reproduce` writes one, as they take
   * minutes): the extras still to come. A report that keeps it was left by a run that did not finish them.
   */
  extras_pending?: string[];
}

export interface ReportNeuron {
  index: number;
  label: string;
  kind: string;
  'purity@10': number;
  'purity@20': number;
  'purity@50': number;
  'pop_pct@20': number;
  'pop_pct@50': number;
  decade: number | null;
  'decade_share@50': number;
  top_items: string[];
  concept: string | null;
  evidence: string;
}

export interface AblationRow {
  beta: number;
  'rbo@30': number;
  'kendall@30': number;
  ms: number;
  l0_items: number;
  chosen: boolean;
}

export interface FrontierRow {
  coding: string;
  latents: number;
  batch_topk: boolean;
  k: number | null;
  user_k: number | null;
  matryoshka: number[] | null;
  beta: number;
  l1: number;
  kl: number;
  epochs: number;
  min_item_fires: number;
  'rbo@30': number;
  'kendall@30': number;
  ms: number;
  l0_items: number;
  l0_users: number;
  explained_variance: number;
  dead_items: number;
  train_s: number;
}

const r4 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : x);

/** 'encoder', or e.g. 'pursuit (items: 8 of encoder top-16; users: 12 of all)'. */
export function codingOf(o: TrainedSae['options']): string {
  const p = o.pursuit;
  if (!p) return 'encoder';
  const full = { ...PURSUIT_DEFAULTS, ...p };
  const pool = (n: number) => (n > 0 ? `encoder top-${n}` : 'all');
  return `pursuit (items: ${o.k} of ${pool(full.itemPool)}; users: ${full.userK} of ${pool(full.userPool)})`;
}

/** One ablation/frontier measurement from a trained and evaluated SAE. */
export function frontierRow(t: TrainedSae, e: SaeEvaluation): FrontierRow {
  const o = t.options;
  return {
    coding: codingOf(o),
    latents: o.latents,
    batch_topk: o.batchTopK === true,
    k: o.activation === 'relu' ? null : o.k,
    user_k: o.activation === 'relu' ? null : (o.userK ?? o.k),
    matryoshka: o.matryoshka ?? null,
    beta: o.beta,
    l1: o.l1,
    kl: o.kl,
    epochs: o.epochs,
    min_item_fires: o.minItemFires ?? 1,
    'rbo@30': r4(e.fidelity.rbo),
    'kendall@30': r4(e.fidelity.kendall),
    ms: r4(e.ms.embedding),
    l0_items: r4(e.reconstruction.l0Items),
    l0_users: r4(e.reconstruction.l0Users),
    explained_variance: r4(e.reconstruction.explainedVariance),
    dead_items: e.reconstruction.deadItems,
    train_s: r4(t.seconds),
  };
}

export function buildReport(input: {
  dataset: Dataset;
  model: 'mf' | 'ncf';
  seed: number;
  rec: TrainedRecommender;
  trained: TrainedSae;
  evaluation: SaeEvaluation;
  labels: { analysis: ConceptAnalysis; hierarchy: MatryoshkaHierarchy | null };
  timings: ReproduceReport['timings'];
  cpuSeconds: number;
  peakRssMb: number;
}): ReproduceReport {
  const { dataset, rec, trained, evaluation, labels } = input;
  const itemId = (i: number): string => dataset.items.ids[i];
  const userId = (u: number): string => dataset.users.ids[u];
  const o = trained.options;
  const rc = evaluation.reconstruction;
  const f = evaluation.fidelity;
  const { analysis } = labels;
  return {
    dataset: {
      name: dataset.name,
      users: dataset.users.ids.length,
      items: dataset.items.ids.length,
      interactions: dataset.interactions.indices.length,
    },
    recommender: {
      model: input.model,
      dim: rec.recommender.dim,
      'hr@10': r4(rec.ranking.hr),
      'ndcg@10': r4(rec.ranking.ndcg),
      train_s: r4(rec.seconds),
      eval_users: rec.ranking.users,
      compute: rec.compute,
    },
    sae: {
      latents: o.latents,
      matryoshka: o.matryoshka ?? null,
      alpha: o.alpha,
      beta: o.beta,
      l1: o.l1,
      kl: o.kl,
      rho: r4(o.rho),
      train_s: r4(trained.seconds),
      l0_users: r4(rc.l0Users),
      l0_items: r4(rc.l0Items),
      dead: rc.dead,
      explained_variance: r4(rc.explainedVariance),
      k: o.activation === 'relu' ? null : o.k,
      user_k: o.activation === 'relu' ? null : (o.userK ?? o.k),
      shared: o.shared,
      epochs: o.epochs,
      seed: o.seed ?? input.seed,
      dead_items: rc.deadItems,
      explained_variance_users: r4(rc.explainedVarianceUsers),
      explained_variance_items: r4(rc.explainedVarianceItems),
      rel_error_users: r4(rc.relErrorUsers),
      rel_error_items: r4(rc.relErrorItems),
      coding: codingOf(o),
      compute: trained.compute,
    },
    fidelity: {
      users: f.users,
      skipped_users: f.skippedUsers,
      'rbo@30': r4(f.rbo),
      'kendall@30': r4(f.kendall),
      'hr@10': r4(f.hr),
      'ndcg@10': r4(f.ndcg),
      'hr@10_original': r4(f.hrOriginal),
      'ndcg@10_original': r4(f.ndcgOriginal),
      eval_users: f.evalUsers,
      samples: f.samples.map((s) => ({
        user: userId(s.user),
        original: Array.from(s.original, itemId),
        reconstructed: Array.from(s.reconstructed, itemId),
      })),
    },
    ms: { embedding: r4(evaluation.ms.embedding), metadata: r4(evaluation.ms.metadata) },
    neurons: analysis.neurons
      .filter((n) => n.kind !== 'dead')
      .map((n) => ({
        index: n.index,
        label: n.label,
        kind: n.kind,
        'purity@10': r4(n.purity10),
        'purity@20': r4(n.purity20),
        'purity@50': r4(n.purity50),
        'pop_pct@20': r4(n.popPct20),
        'pop_pct@50': r4(n.popPct50),
        decade: n.decade,
        'decade_share@50': r4(n.decadeShare50),
        top_items: n.topItems.map(itemId),
        concept: n.concept,
        evidence: n.evidence,
      })),
    concepts: analysis.concepts.map((c) => ({
      concept: c.concept,
      neuron: c.neuron,
      'purity@10': r4(c.purity10),
      'purity@20': r4(c.purity20),
      'purity@50': r4(c.purity50),
    })),
    headline: {
      popularity: analysis.popularity,
      eras: analysis.eras,
      concepts_purity20_ge_080: analysis.concepts.filter((c) => c.purity20 >= 0.8).length,
    },
    hierarchy: labels.hierarchy,
    timings: input.timings,
    cpu_s: r4(input.cpuSeconds),
    peak_rss_mb: Math.round(input.peakRssMb),
    seed: input.seed,
  };
}
