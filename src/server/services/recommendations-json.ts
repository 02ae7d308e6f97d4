import type { RecommendationsResponseT } from '../schemas/recommendations.ts';
import { ascii, JsonWriter } from './json-writer.ts';

type Item = RecommendationsResponseT['items'][number];

/**
 * The recommendations response as JSON bytes, property for property what the route's schema serialiser
 * writes (test/server/services/recommendations-json.test.ts holds the two byte-equal, and fails when the
 * schema gains a property this file does not write). Half the CPU of serialising to a string and encoding
 * it, on the hottest route.
 */
export function encodeRecommendations(r: RecommendationsResponseT): Buffer {
  const w = writer.reset();
  w.bytes(K.userId);
  w.string(r.userId);
  w.bytes(K.modelId);
  w.integer(r.modelId);
  w.bytes(K.k);
  w.integer(r.k);
  w.bytes(K.policies);
  for (let i = 0; i < r.policies.length; i++) {
    const p = r.policies[i];
    w.bytes(i === 0 ? K.policyId : K.nextPolicyId);
    w.integer(p.id);
    w.bytes(K.name);
    w.string(p.name);
    w.bytes(K.version);
    w.integer(p.version);
    w.bytes(K.close);
  }
  w.bytes(K.items);
  writeItems(w, r.items);
  if (r.unsteered) {
    w.bytes(K.unsteered);
    writeItems(w, r.unsteered);
  }
  if (r.comparison) {
    w.bytes(K.rbo);
    w.number(r.comparison.rbo);
    w.bytes(K.kendallTau);
    w.number(r.comparison.kendallTau);
    w.bytes(K.close);
  }
  w.bytes(K.close);
  return w.take();
}

function writeItems(w: JsonWriter, items: readonly Item[]): void {
  w.bytes(K.open);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (i > 0) w.bytes(K.comma);
    w.bytes(itemHead(item.itemId, item.title));
    w.number(item.score);
    w.bytes(K.rank);
    w.integer(item.rank);
    const e = item.explanation;
    if (e) {
      w.bytes(K.method);
      w.string(e.method);
      w.bytes(K.neurons);
      for (let j = 0; j < e.neurons.length; j++) {
        const c = e.neurons[j];
        w.bytes(j === 0 ? K.neuron : K.nextNeuron);
        w.integer(c.neuron);
        w.bytes(labelSide(c.label, c.side));
        w.number(c.activation);
        w.bytes(K.contribution);
        w.number(c.contribution);
        w.bytes(K.close);
      }
      w.bytes(K.other);
      w.number(e.other);
      w.bytes(K.base);
      w.number(e.base);
      w.bytes(K.residual);
      w.number(e.residual);
      w.bytes(K.completeness);
      w.number(e.completeness);
      w.bytes(K.close);
    }
    w.bytes(K.close);
  }
  w.bytes(K.closeArray);
}

// One writer per process: requests are encoded synchronously, one at a time, and `take` copies out.
const writer = new JsonWriter();

/*
 * The constant runs of a response, encoded once: an item's `{"itemId":…,"title":…,"score":` and a
 * contribution's `,"label":…,"side":…,"activation":` (the same few hundred items and labels recur on every
 * request). Four copies and two string scans become one copy. Bounded: cleared when they outgrow the limit.
 */
const FRAGMENT_LIMIT = 1 << 15;
const itemHeads = new Map<string, { title: string; bytes: Uint8Array }>();
const labelSides = { user: new Map<string, Uint8Array>(), item: new Map<string, Uint8Array>() };

function itemHead(itemId: string, title: string): Uint8Array {
  const hit = itemHeads.get(itemId);
  if (hit !== undefined && hit.title === title) return hit.bytes;
  if (itemHeads.size >= FRAGMENT_LIMIT) itemHeads.clear();
  const bytes = utf8(`{"itemId":${JSON.stringify(itemId)},"title":${JSON.stringify(title)},"score":`);
  itemHeads.set(itemId, { title, bytes });
  return bytes;
}

function labelSide(label: string, side: 'user' | 'item'): Uint8Array {
  const memo = labelSides[side];
  let bytes = memo.get(label);
  if (bytes === undefined) {
    if (memo.size >= FRAGMENT_LIMIT) memo.clear();
    bytes = utf8(`,"label":${JSON.stringify(label)},"side":${JSON.stringify(side)},"activation":`);
    memo.set(label, bytes);
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
  method: ascii(',"explanation":{"method":'),
  neurons: ascii(',"neurons":['),
  neuron: ascii('{"neuron":'),
  nextNeuron: ascii(',{"neuron":'),
  contribution: ascii(',"contribution":'),
  other: ascii('],"other":'),
  base: ascii(',"base":'),
  residual: ascii(',"residual":'),
  completeness: ascii(',"completeness":'),
};
