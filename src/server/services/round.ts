/**
 * Rounds to 6 decimals, as every number derived from the model is returned (scores, explanations,
 * activations, list agreement): the embeddings are float32 (about 7 significant digits), so the 17 digits
 * of a double are noise, and they were half of an explained response's bytes.
 */
export const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;
