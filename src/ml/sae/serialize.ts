import { decodeArtifact, encodeArtifact, type TensorMap } from '../artifact/format.ts';
import { MlError } from '../core/errors.ts';
import type { Sae, SaeConfig, SaePair } from './types.ts';

const KIND = 'sae-pair';

/** One artifact for the SAE(s) of a recommender; the item tensors are omitted when shared. */
export function saveSae(pair: SaePair): Uint8Array {
  const tensors: TensorMap = {};
  const shapes: Record<string, number[]> = {};
  const sides: [string, Sae][] = pair.shared
    ? [['user', pair.user]]
    : [
        ['user', pair.user],
        ['item', pair.item],
      ];
  const configs: Record<string, SaeConfig> = {};
  for (const [side, sae] of sides) {
    const { inputDim, latents } = sae.config;
    configs[side] = sae.config;
    tensors[`${side}.W`] = sae.params.W;
    shapes[`${side}.W`] = [latents, inputDim];
    tensors[`${side}.bEnc`] = sae.params.bEnc;
    tensors[`${side}.bPre`] = sae.params.bPre;
    tensors[`${side}.inputScale`] = sae.params.inputScale;
  }
  // A shared SAE may still give user rows their own TopK k (same weights): keep the item config too.
  if (pair.shared) configs.item = pair.item.config;
  // …and its own pre-bias (sidePreBias): W, bEnc and inputScale are the user's.
  if (pair.shared && pair.item.params.bPre !== pair.user.params.bPre)
    tensors['item.bPre'] = pair.item.params.bPre;
  return encodeArtifact(KIND, { shared: pair.shared, configs }, tensors, shapes);
}

export function loadSae(bytes: Uint8Array): SaePair {
  const art = decodeArtifact(bytes, KIND);
  const shared = art.meta.shared === true;
  const configs = art.meta.configs as Record<string, SaeConfig> | undefined;
  const read = (side: string): Sae => {
    const config = configs?.[side];
    if (!config) throw new MlError('BAD_ARTIFACT', `sae artifact: missing config for ${side}`, side);
    const t = (name: string, length: number): Float32Array => {
      const x = art.tensors[`${side}.${name}`];
      if (!(x instanceof Float32Array) || x.length !== length)
        throw new MlError(
          'BAD_ARTIFACT',
          `sae artifact: tensor ${side}.${name} missing or not length ${length}`,
          name,
        );
      return x;
    };
    const { inputDim: d, latents: m } = config;
    const p = config.pursuit;
    const inRange = (v: unknown, lo: number) =>
      Number.isInteger(v) && (v as number) >= lo && (v as number) <= m;
    if (p && !(inRange(p.k, 1) && inRange(p.pool, 0)))
      throw new MlError(
        'BAD_ARTIFACT',
        `sae artifact: ${side} pursuit config ${JSON.stringify(p)} is invalid`,
        'pursuit',
      );
    return {
      kind: 'sae',
      config,
      params: { W: t('W', m * d), bEnc: t('bEnc', m), bPre: t('bPre', d), inputScale: t('inputScale', 1) },
    };
  };
  const user = read('user');
  if (!shared) return { shared, user, item: read('item') };
  const itemConfig = configs?.item ?? user.config;
  const itemBPre = art.tensors['item.bPre'];
  if (
    itemBPre !== undefined &&
    !(itemBPre instanceof Float32Array && itemBPre.length === user.config.inputDim)
  )
    throw new MlError('BAD_ARTIFACT', 'sae artifact: tensor item.bPre not length inputDim', 'bPre');
  if (itemBPre === undefined && JSON.stringify(itemConfig) === JSON.stringify(user.config))
    return { shared, user, item: user };
  const params = itemBPre ? { ...user.params, bPre: itemBPre } : user.params;
  return { shared, user, item: { kind: 'sae', config: itemConfig, params } };
}
