import type { Explanation, NeuronContribution } from '../../ml/explain/types.ts';
import type { RecommendationResult, RecommendedItem } from '../../ml/steer/recommend.ts';
import type { AppliedPolicyT } from '../schemas/recommendations.ts';
import { ascii, integerText, JsonWriter } from './json-writer.ts';

/**
 * The recommendations response as JSON bytes, written straight from `recommend`'s result: scores and
 * explanation numbers rounded to 6 decimals as they are written, no response objects in between. The
 * bytes are what the route's schema serialiser writes for the response object
 * (test/server/services/recommendations-json.test.ts holds the two byte-equal against the mapping spelled
 * out there, and fails when the schema gains a property this file does not write). On the hottest route
 * this is a third of the CPU of building the objects and serialising them.
 */
export function encodeRecommendations(
  result: RecommendationResult,
  modelId: number,
  policies: readonly AppliedPolicyT[],
): Buffer {
  const w = writer.reset();
  nextDocument();
  w.bytes(K.userId);
  w.string(result.user);
  w.bytes(K.modelId);
  w.integer(modelId);
  w.bytes(K.k);
  w.integer(result.k);
  w.bytes(K.policies);
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i];
    w.bytes(i === 0 ? K.policyId : K.nextPolicyId);
    w.integer(p.id);
    w.bytes(K.name);
    w.string(p.name);
    w.bytes(K.version);
    w.integer(p.version);
    w.bytes(K.close);
  }
  w.bytes(K.items);
  writeItems(w, result.items);
  const unsteered = result.unsteered;
  if (unsteered) {
    w.bytes(K.unsteered);
    writeItems(w, unsteered.items);
    w.bytes(K.rbo);
    w.round6(unsteered.rbo);
    w.bytes(K.kendallTau);
    w.round6(unsteered.kendallTau);
    w.bytes(K.close);
  }
  w.bytes(K.close);
  return w.take();
}

function writeItems(w: JsonWriter, items: readonly RecommendedItem[]): void {
  w.bytes(K.open);
  for (let r = 0; r < items.length; r++) {
    const item = items[r];
    if (r > 0) w.bytes(K.comma);
    w.bytes(itemHead(item.item, item.title));
    w.round6(item.score);
    w.bytes(K.rank);
    w.integer(r + 1);
    if (item.explanation) writeExplanation(w, item.explanation);
    w.bytes(K.close);
  }
  w.bytes(K.closeArray);
}

function writeExplanation(w: JsonWriter, e: Explanation): void {
  w.bytes(methodHead(e.method));
  const top = e.top;
  for (let j = 0; j < top.length; j++) {
    if (j > 0) w.bytes(K.nextNeuron);
    const c = top[j];
    const runs = c.side === 'user' ? userRuns : itemRuns;
    if (!runs.repeat(w, c)) {
      const from = w.length;
      w.bytes(neuronHead(c.neuron, c.label, c.side));
      w.round6(c.activation);
      w.bytes(K.contribution);
      runs.remember(c, from, w.length);
    }
    w.round6(c.value);
  }
  w.bytes(top.length > 0 ? K.lastNeuronOther : K.other);
  w.round6(e.other);
  w.bytes(K.base);
  w.round6(e.base);
  w.bytes(K.residual);
  w.round6(e.residual);
  w.bytes(K.completeness);
  w.round6(e.completeness);
  w.bytes(K.close);
}

/**
 * A neuron recurs within a response with the same activation (a user-side neuron is the same in every
 * item's explanation), so its `{"neuron":…,"label":…,"side":…,"activation":…,"contribution":` run is
 * written once per document and copied from there after that. Entries are stamped with the document.
 */
class DocumentRuns {
  private stamp = new Int32Array(0); // [neuron] the document the entry belongs to
  private activation = new Float64Array(0);
  private label: string[] = [];
  private from = new Int32Array(0);
  private to = new Int32Array(0);

  /** Writes the run of `c` again if this document has it; false when not. */
  repeat(w: JsonWriter, c: NeuronContribution): boolean {
    const j = c.neuron;
    if (
      j < this.stamp.length &&
      this.stamp[j] === document &&
      this.activation[j] === c.activation &&
      this.label[j] === c.label
    ) {
      w.repeat(this.from[j], this.to[j]);
      return true;
    }
    return false;
  }

  remember(c: NeuronContribution, from: number, to: number): void {
    const j = c.neuron;
    if (!(j >>> 0 === j && j < RUNS_LIMIT)) return; // not a neuron index this table can hold
    if (j >= this.stamp.length) this.grow(j + 1);
    this.stamp[j] = document;
    this.activation[j] = c.activation;
    this.label[j] = c.label;
    this.from[j] = from;
    this.to[j] = to;
  }

  clear(): void {
    this.stamp.fill(0);
  }

  private grow(n: number): void {
    const size = Math.max(n, 2 * this.stamp.length);
    const widen = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const out = make(size);
      out.set(a);
      return out;
    };
    this.stamp = widen(this.stamp, (k) => new Int32Array(k));
    this.activation = widen(this.activation, (k) => new Float64Array(k));
    this.from = widen(this.from, (k) => new Int32Array(k));
    this.to = widen(this.to, (k) => new Int32Array(k));
  }
}

const RUNS_LIMIT = 1 << 20;
const userRuns = new DocumentRuns();
const itemRuns = new DocumentRuns();
/** The number of the document being written (0 = none yet, so fresh tables match nothing). */
let document = 0;

function nextDocument(): void {
  if (document === 0x7fffffff) {
    userRuns.clear();
    itemRuns.clear();
    document = 0;
  }
  document++;
}

// One writer per process: requests are encoded synchronously, one at a time; each body is a view of its
// slab that no later document overwrites.
const writer = new JsonWriter();

/*
 * The constant runs of a response, encoded once: an item's `{"itemId":…,"title":…,"score":` and a
 * contribution's `{"neuron":…,"label":…,"side":…,"activation":`, as the same few hundred items and
 * neurons recur on every request. Each is checked against the values it
 * was made from, so a model version that renames an item or relabels a neuron gets fresh bytes. Bounded:
 * cleared when they outgrow the limit.
 */
const FRAGMENT_LIMIT = 1 << 15;
const itemHeads = new Map<string, { title: string; bytes: Uint8Array }>();
const neuronHeads = { user: new Map<number, NeuronHead>(), item: new Map<number, NeuronHead>() };
interface NeuronHead {
  label: string;
  bytes: Uint8Array;
}
const methodHeads = new Map<string, Uint8Array>();

function itemHead(itemId: string, title: string): Uint8Array {
  const hit = itemHeads.get(itemId);
  if (hit !== undefined && hit.title === title) return hit.bytes;
  if (itemHeads.size >= FRAGMENT_LIMIT) itemHeads.clear();
  const bytes = utf8(`{"itemId":${JSON.stringify(itemId)},"title":${JSON.stringify(title)},"score":`);
  itemHeads.set(itemId, { title, bytes });
  return bytes;
}

function neuronHead(neuron: number, label: string, side: 'user' | 'item'): Uint8Array {
  const memo = neuronHeads[side];
  let head = memo.get(neuron);
  if (head === undefined || head.label !== label) {
    if (memo.size >= FRAGMENT_LIMIT) memo.clear();
    const text = `{"neuron":${integerText(neuron)},"label":${JSON.stringify(label)},"side":${JSON.stringify(side)},"activation":`;
    head = { label, bytes: utf8(text) };
    memo.set(neuron, head);
  }
  return head.bytes;
}

function methodHead(method: string): Uint8Array {
  let bytes = methodHeads.get(method);
  if (bytes === undefined) {
    bytes = utf8(`,"explanation":{"method":${JSON.stringify(method)},"neurons":[`);
    methodHeads.set(method, bytes);
  }
  return bytes;
}

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

const K = {
  userId: ascii('{"userId":'),
  modelId: ascii(',"modelId":'),
  k: ascii(',"k":'),
  policies: ascii(',"policies":['),
  policyId: ascii('{"id":'),
  nextPolicyId: ascii(',{"id":'),
  name: ascii(',"name":'),
  version: ascii(',"version":'),
  items: ascii('],"items":'),
  unsteered: ascii(',"unsteered":'),
  rbo: ascii(',"comparison":{"rbo":'),
  kendallTau: ascii(',"kendallTau":'),
  open: ascii('['),
  comma: ascii(','),
  close: ascii('}'),
  closeArray: ascii(']'),
  rank: ascii(',"rank":'),
  contribution: ascii(',"contribution":'),
  nextNeuron: ascii('},'),
  other: ascii('],"other":'),
  lastNeuronOther: ascii('}],"other":'),
  base: ascii(',"base":'),
  residual: ascii(',"residual":'),
  completeness: ascii(',"completeness":'),
};
