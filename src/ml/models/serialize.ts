import { decodeArtifact, encodeArtifact } from '../artifact/format.ts';
import { MlError } from '../core/errors.ts';
import type { DenseLayer, MfModel, NcfModel, Recommender } from './types.ts';

/**
 * Recommenders as artifacts (src/ml/artifact/format.ts): kind "recommender", meta {model, nUsers, nItems,
 * dim, hidden?}, tensors named after the params (NCF layers as layer<k>.W / layer<k>.b).
 */
const KIND = 'recommender';

export function saveRecommender(model: Recommender): Uint8Array {
  const { nUsers, nItems, dim } = model;
  const emb = { userEmb: [nUsers, dim], itemEmb: [nItems, dim] };
  if (model.kind === 'mf') {
    return encodeArtifact(KIND, { model: 'mf', nUsers, nItems, dim }, { ...model.params }, emb);
  }
  const tensors: Record<string, Float32Array> = {
    userEmb: model.params.userEmb,
    itemEmb: model.params.itemEmb,
  };
  const shapes: Record<string, number[]> = { ...emb };
  model.params.layers.forEach((l, k) => {
    tensors[`layer${k}.W`] = l.W;
    tensors[`layer${k}.b`] = l.b;
    shapes[`layer${k}.W`] = [l.outDim, l.inDim];
  });
  return encodeArtifact(KIND, { model: 'ncf', nUsers, nItems, dim, hidden: model.hidden }, tensors, shapes);
}

export function loadRecommender(bytes: Uint8Array): Recommender {
  const { meta, tensors, shapes } = decodeArtifact(bytes, KIND);
  const fail = (msg: string, field?: string): never => {
    throw new MlError('BAD_ARTIFACT', `recommender artifact: ${msg}`, field);
  };
  const nUsers = meta.nUsers as number;
  const nItems = meta.nItems as number;
  const dim = meta.dim as number;
  for (const [k, v] of Object.entries({ nUsers, nItems, dim }))
    if (!(Number.isInteger(v) && v > 0)) fail(`meta.${k} must be a positive integer`, k);
  const f32 = (name: string, shape: number[]): Float32Array => {
    const t = tensors[name];
    if (!(t instanceof Float32Array)) return fail(`missing float32 tensor "${name}"`, name);
    const want = shape.reduce((a, b) => a * b, 1);
    if (t.length !== want) fail(`tensor "${name}" has ${t.length} values, expected ${want}`, name);
    return t;
  };
  const userEmb = f32('userEmb', [nUsers, dim]);
  const itemEmb = f32('itemEmb', [nItems, dim]);
  if (meta.model === 'mf') {
    const model: MfModel = {
      kind: 'mf',
      nUsers,
      nItems,
      dim,
      params: {
        userEmb,
        itemEmb,
        userBias: f32('userBias', [nUsers]),
        itemBias: f32('itemBias', [nItems]),
        globalBias: f32('globalBias', [1]),
      },
    };
    return model;
  }
  if (meta.model !== 'ncf') return fail(`unknown model "${String(meta.model)}"`, 'model');
  const hidden = meta.hidden as number[];
  if (!Array.isArray(hidden) || hidden.some((h) => !(Number.isInteger(h) && h > 0)))
    fail('meta.hidden must be a list of positive integers', 'hidden');
  const widths = [2 * dim, ...hidden, 1];
  const layers: DenseLayer[] = [];
  for (let k = 0; k + 1 < widths.length; k++) {
    const inDim = widths[k];
    const outDim = widths[k + 1];
    const shape = shapes[`layer${k}.W`];
    if (shape && (shape[0] !== outDim || shape[1] !== inDim))
      fail(`layer${k}.W has shape [${shape}], expected [${outDim},${inDim}]`, `layer${k}.W`);
    layers.push({ inDim, outDim, W: f32(`layer${k}.W`, [outDim, inDim]), b: f32(`layer${k}.b`, [outDim]) });
  }
  const model: NcfModel = { kind: 'ncf', nUsers, nItems, dim, hidden, params: { userEmb, itemEmb, layers } };
  return model;
}
