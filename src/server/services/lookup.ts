import type { ModelBundle } from '../../ml/bundle.ts';
import { ApiError } from '../errors.ts';
import { MAX_ID_LENGTH } from '../schemas/common.ts';

/** A user id from a URL: the dataset's own id, 404 naming it when unknown. */
export function userIndex(bundle: ModelBundle, userId: string, field = 'params.userId'): number {
  const u = bundle.dataset.users.index.get(userId);
  if (u === undefined) throw new ApiError(404, 'UNKNOWN_USER', `unknown user id "${userId}"`, field);
  return u;
}

/** An item id from a URL: 404 naming it when unknown. */
export function itemIndex(bundle: ModelBundle, itemId: string, field = 'params.itemId'): number {
  const i = bundle.dataset.items.index.get(itemId);
  if (i === undefined) throw new ApiError(404, 'UNKNOWN_ITEM', `unknown item id "${itemId}"`, field);
  return i;
}

/** A neuron index from a URL: 404 naming it when the SAE has no such latent. */
export function neuronIndex(bundle: ModelBundle, neuron: number, field = 'params.neuron'): number {
  const latents = bundle.sae.user.config.latents;
  if (neuron >= latents)
    throw new ApiError(
      404,
      'UNKNOWN_NEURON',
      `unknown neuron ${neuron} (the SAE has ${latents} latents)`,
      field,
    );
  return neuron;
}

/**
 * Ids given in a query or body (each element may hold comma-separated ids): indices, 400 naming the
 * first unknown one (a filter naming a missing id is a bad request, not a missing resource). The ids are
 * checked as `splitIds` checks them (each at most MAX_ID_LENGTH characters; callers bound the count).
 */
export function idIndices(
  index: Map<string, number>,
  raw: readonly string[] | undefined,
  field: string,
  code: 'UNKNOWN_USER' | 'UNKNOWN_ITEM',
): number[] {
  return raw ? indicesOf(index, splitIds(raw, field), field, code) : [];
}

/** Indices of ids already split (`splitIds`): 400 naming the first unknown one, as `idIndices`. */
export function indicesOf(
  index: Map<string, number>,
  ids: readonly string[],
  field: string,
  code: 'UNKNOWN_USER' | 'UNKNOWN_ITEM',
): number[] {
  const out: number[] = [];
  for (const id of ids) {
    const i = index.get(id);
    if (i === undefined)
      throw new ApiError(
        400,
        code,
        `${field}: unknown ${code === 'UNKNOWN_USER' ? 'user' : 'item'} id "${id}"`,
        field,
      );
    out.push(i);
  }
  return out;
}

/**
 * `['1,2', '3']` → `['1', '2', '3']`, empty parts dropped. The limits hold for the ids after splitting
 * (a parameter may be repeated, comma-separated, or both): 400 naming `field` when there are more than
 * `maxIds` of them or one is longer than MAX_ID_LENGTH characters.
 */
export function splitIds(raw: readonly string[], field: string, maxIds = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  for (const part of raw)
    for (const piece of part.split(',')) {
      const id = piece.trim();
      if (id === '') continue;
      if (id.length > MAX_ID_LENGTH)
        throw new ApiError(
          400,
          'VALIDATION',
          `${field}: id "${id.slice(0, 20)}…" is longer than ${MAX_ID_LENGTH} characters`,
          field,
        );
      if (out.length >= maxIds)
        throw new ApiError(400, 'VALIDATION', `${field} holds more than ${maxIds} ids`, field);
      out.push(id);
    }
  return out;
}
