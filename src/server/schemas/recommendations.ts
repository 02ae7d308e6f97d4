import { type Static, Type } from 'typebox';
import { IdList, KendallNumber, RboNumber } from './common.ts';

export const DEFAULT_TOP_NEURONS = 5;

export const UserParams = Type.Object({
  userId: Type.String({ minLength: 1, maxLength: 200, description: "The dataset's own user id" }),
});

export const RecommendationsQuery = Type.Object(
  {
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 10, description: 'List length' })),
    exclude: Type.Optional(
      IdList(
        "Item ids to leave out; each must be in the served model's catalogue (an unknown one is a 400 UNKNOWN_ITEM)",
      ),
    ),
    explain: Type.Optional(
      Type.Boolean({ default: false, description: 'Add per-neuron explanations to each item' }),
    ),
    policy: Type.Optional(IdList('Stored policies (ids or names) to apply besides the enabled ones')),
    compare: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Also return the unsteered list with RBO and Kendall τ between the two',
      }),
    ),
    // No schema default: a topNeurons sent without explain=true is refused, so its absence must show.
    topNeurons: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 50,
        description: `Neuron contributions listed per explained item (with explain=true; default ${DEFAULT_TOP_NEURONS})`,
      }),
    ),
  },
  { additionalProperties: false },
);
export type RecommendationsQueryT = Static<typeof RecommendationsQuery>;

export const Contribution = Type.Object({
  neuron: Type.Integer(),
  label: Type.String({ description: 'Concept label ("" when unlabelled)' }),
  // An enum rather than a union of literals: the serialiser then writes it as a plain string, where a union
  // would make it try each branch with a validator per neuron (the hot path of explain=true).
  side: Type.Unsafe<'user' | 'item'>({
    type: 'string',
    enum: ['user', 'item'],
    description: 'Whose code the neuron was read from',
  }),
  activation: Type.Number({ description: "The neuron's activation in that code" }),
  contribution: Type.Number({ description: 'Signed share of the score' }),
});

/** Numbers in explanations and scores are rounded to 6 decimals (float32 inputs carry about 7 digits). */
export const Explanation = Type.Object({
  method: Type.String({ description: 'mf-exact or ncf-integrated-gradients' }),
  neurons: Type.Array(Contribution, { description: 'Largest contributions by magnitude' }),
  other: Type.Number({ description: 'Sum of the contributions not listed' }),
  base: Type.Number({ description: 'The part no neuron owns (biases)' }),
  residual: Type.Number({ description: 'What the neurons and base do not account for' }),
  completeness: Type.Number({ description: 'Share of (score − base) the neurons account for' }),
});

export const RecommendedItem = Type.Object({
  itemId: Type.String(),
  title: Type.String(),
  score: Type.Number({
    description: 'The ranking score (MF: dot product + biases; NCF: logit), rounded to 6 decimals',
  }),
  rank: Type.Integer({ minimum: 1 }),
  explanation: Type.Optional(Explanation),
});

export const AppliedPolicy = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  version: Type.Integer(),
});
export type AppliedPolicyT = Static<typeof AppliedPolicy>;

export const RecommendationsResponse = Type.Object({
  userId: Type.String(),
  modelId: Type.Integer(),
  k: Type.Integer({
    description: 'The requested list length; items holds fewer when fewer unseen items remain',
  }),
  policies: Type.Array(AppliedPolicy, {
    description:
      'Policies that acted on this request: user policies that target this user, and item policies in force ' +
      'on the catalogue (whether or not they moved an item of this list; compare=true shows the difference)',
  }),
  items: Type.Array(RecommendedItem),
  unsteered: Type.Optional(Type.Array(RecommendedItem)),
  comparison: Type.Optional(
    Type.Object({
      rbo: RboNumber,
      kendallTau: KendallNumber,
    }),
  ),
});
export type RecommendationsResponseT = Static<typeof RecommendationsResponse>;
