import { MlError } from '../ml/core/errors.ts';
import { COMPUTE_CHOICES, type ComputeChoice } from '../ml/nn/dense-kernel.ts';
import { unavailableChoice } from '../ml/nn/tfjs-kernel.ts';

/** `--compute`, as `prism reproduce` and `prism train` take it. */
export const COMPUTE_FLAG = {
  type: 'string',
  default: 'auto',
  choices: [...COMPUTE_CHOICES],
  help: "the dense products (SAE training's encoder, NCF's MLP): auto (the loops for small runs, else CUDA if tfjs-node-gpu is installed, else wasm), js, wasm, gpu",
} as const;

/** The flag's choice; `gpu` without the CUDA package is refused before any work, naming the package. */
export function computeChoice(flag: string): ComputeChoice {
  const compute = flag as ComputeChoice;
  const why = unavailableChoice(compute);
  if (why) throw new MlError('BAD_CONFIG', `--compute ${compute} ${why}`, 'compute');
  return compute;
}
