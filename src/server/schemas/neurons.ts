import { Type } from 'typebox';
import { MAX_ID, Offset } from './common.ts';

const NEURON_KINDS = ['concept', 'popularity', 'era', 'combined', 'unlabelled', 'dead'] as const;
export const NeuronKind = Type.Enum(NEURON_KINDS);

export const NeuronSummary = Type.Object({
  index: Type.Integer(),
  label: Type.String(),
  kind: Type.String(),
  concept: Type.Union([Type.String(), Type.Null()]),
  purity10: Type.Number(),
  purity20: Type.Number(),
  purity50: Type.Number(),
  itemDensity: Type.Number({ description: 'Share of items on which the neuron is active' }),
  userDensity: Type.Number({ description: 'Share of users on which the neuron is active' }),
  dead: Type.Boolean(),
});

export const NeuronListQuery = Type.Object(
  {
    kind: Type.Optional(Type.Enum(NEURON_KINDS, { description: 'Only neurons of this kind' })),
    label: Type.Optional(
      Type.String({ description: 'Only neurons whose label contains this (case-insensitive)' }),
    ),
    dead: Type.Optional(Type.Boolean()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
    offset: Type.Optional(Offset),
  },
  { additionalProperties: false },
);

export const NeuronList = Type.Object({
  modelId: Type.Integer(),
  total: Type.Integer(),
  neurons: Type.Array(NeuronSummary),
});

export const NeuronParams = Type.Object({
  neuron: Type.Integer({ minimum: 0, maximum: MAX_ID, description: 'Neuron index' }),
});

export const NeuronDetailQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Rows per list' }),
    ),
  },
  { additionalProperties: false },
);

const ItemRow = Type.Object({ itemId: Type.String(), title: Type.String(), value: Type.Number() });

export const NeuronDetail = Type.Object({
  ...NeuronSummary.properties,
  modelId: Type.Integer(),
  popPct20: Type.Number(),
  popPct50: Type.Number(),
  decade: Type.Union([Type.Integer(), Type.Null()]),
  decadeShare50: Type.Number(),
  evidence: Type.String({ description: 'Why the label was chosen' }),
  topItems: Type.Array(ItemRow, { description: 'Items activating the neuron most (value = activation)' }),
  topUsers: Type.Array(Type.Object({ userId: Type.String(), value: Type.Number() }), {
    description:
      'Users activating the neuron most (value = activation). With one SAE per side (shared: false) this ' +
      "and raisesMost read the user SAE's neuron of this index, a different atom from the labelled item one",
  }),
  raisesMost: Type.Array(ItemRow, {
    description:
      "Items whose score rises most when the neuron is raised in the average user's code (value = score change)",
  }),
});
