import { decode, encode } from './model.ts';
import type { SaePair } from './types.ts';

/** Codes of every user and item: userCodes [nUsers × latents], itemCodes [nItems × latents]. */
export function encodeAll(
  pair: SaePair,
  userEmb: Float32Array,
  itemEmb: Float32Array,
  nUsers: number,
  nItems: number,
): { userCodes: Float32Array; itemCodes: Float32Array } {
  return { userCodes: encode(pair.user, userEmb, nUsers), itemCodes: encode(pair.item, itemEmb, nItems) };
}

/** Embeddings rebuilt from their codes: userRecon [nUsers × dim], itemRecon [nItems × dim]. */
export function reconstructAll(
  pair: SaePair,
  userEmb: Float32Array,
  itemEmb: Float32Array,
  nUsers: number,
  nItems: number,
): { userRecon: Float32Array; itemRecon: Float32Array; userCodes: Float32Array; itemCodes: Float32Array } {
  const { userCodes, itemCodes } = encodeAll(pair, userEmb, itemEmb, nUsers, nItems);
  return {
    userRecon: decode(pair.user, userCodes, nUsers),
    itemRecon: decode(pair.item, itemCodes, nItems),
    userCodes,
    itemCodes,
  };
}
