import { Type } from 'typebox';

export const ActiveNeuron = Type.Object({
  neuron: Type.Integer(),
  label: Type.String(),
  kind: Type.String(),
  activation: Type.Number({ description: "The neuron's activation in the code, rounded to 6 decimals" }),
});

export const ProfileQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 500, default: 20, description: 'Strongest neurons to list' }),
    ),
  },
  { additionalProperties: false },
);

export const UserConcepts = Type.Object({
  userId: Type.String(),
  modelId: Type.Integer(),
  activeNeurons: Type.Integer({ description: 'Neurons active (> 0) in the code' }),
  neurons: Type.Array(ActiveNeuron, { description: 'Strongest active neurons first' }),
});

export const ItemParams = Type.Object({
  itemId: Type.String({ minLength: 1, maxLength: 200, description: "The dataset's own item id" }),
});

export const ItemConcepts = Type.Object({
  itemId: Type.String(),
  title: Type.String(),
  tags: Type.Array(Type.String()),
  year: Type.Union([Type.Integer(), Type.Null()]),
  modelId: Type.Integer(),
  activeNeurons: Type.Integer(),
  neurons: Type.Array(ActiveNeuron),
});
