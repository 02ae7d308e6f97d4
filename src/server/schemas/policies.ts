import { type Static, Type } from 'typebox';
import { POLICY_MAGNITUDE_LIMIT } from '../../ml/steer/policy.ts';
import { KendallNumber, MAX_ID, MAX_SEED, RboNumber, Timestamp } from './common.ts';
import { AppliedPolicy } from './recommendations.ts';

const Ids = Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 10_000 });

const Magnitude = { minimum: -POLICY_MAGNITUDE_LIMIT, maximum: POLICY_MAGNITUDE_LIMIT };

/** The [STEER] policy (src/ml/steer/policy.ts); semantic checks against the active model follow. */
export const PolicyBody = Type.Object(
  {
    kind: Type.Enum(['suppress', 'boost', 'promote', 'popularity', 'edit'], {
      description:
        'suppress/boost a concept for users, promote items via a neuron, dampen (<0) or amplify popularity, or a low-level edit',
    }),
    neuron: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_ID,
        description: 'Target neuron index (in the SAE of the model version active when saved; see modelId)',
      }),
    ),
    concept: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Target concept label, e.g. "Horror"' }),
    ),
    strength: Type.Optional(Type.Number({ ...Magnitude, description: 'Effect size; 0 is the identity' })),
    side: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('item')])),
    op: Type.Optional(Type.Union([Type.Literal('set'), Type.Literal('scale'), Type.Literal('add')])),
    value: Type.Optional(Type.Number(Magnitude)),
    users: Type.Optional(Ids),
    items: Type.Optional(Ids),
    segment: Type.Optional(
      Type.Object(
        {
          threshold: Type.Number(),
          neuron: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_ID })),
          concept: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
        },
        {
          additionalProperties: false,
          description: 'Users whose code has the concept active above threshold',
        },
      ),
    ),
    all: Type.Optional(
      Type.Boolean({
        description:
          'Every user (or item) of the side. Not for promote (or an item-side add) on MF, in either mode: the ' +
          'same shift of every item reorders nothing',
      }),
    ),
    on: Type.Optional(
      Type.Union([Type.Literal('users'), Type.Literal('items')], {
        description: "popularity and suppress: whose codes to edit, 'items' (default) or 'users'",
      }),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('delta'), Type.Literal('replace')], {
        description:
          "delta (default): e + D(z') − D(z), untargeted rows untouched; replace: D(z') + b_pre as in the paper " +
          '(targeted rows carry the SAE reconstruction error). Strength 0 is the identity in both. Suppress ' +
          "edits the items' codes by default (on: items), which is delta only; use on: users for replace",
      }),
    ),
  },
  { additionalProperties: false, title: 'Policy' },
);

/**
 * A policy name: not all digits (that is an id), starting with a letter or digit and ending with one or
 * `_.:-` (inner blanks are fine), so that `"trail "` cannot be a second policy beside `"trail"` (query refs are
 * trimmed).
 */
const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^(?![0-9]+$)[A-Za-z0-9](?:[A-Za-z0-9 _.:-]*[A-Za-z0-9_.:-])?$',
  description:
    'Letters, digits, blanks and _.:- (starting with a letter or digit, not ending with a blank); not all digits',
});

export const CreatePolicyBody = Type.Object(
  {
    name: Name,
    policy: PolicyBody,
    enabled: Type.Optional(
      Type.Boolean({ default: true, description: 'Enabled policies apply to every request' }),
    ),
  },
  { additionalProperties: false },
);
export type CreatePolicyBodyT = Static<typeof CreatePolicyBody>;

export const UpdatePolicyBody = Type.Object(
  {
    name: Type.Optional(Name),
    policy: Type.Optional(PolicyBody),
    enabled: Type.Optional(Type.Boolean()),
    expectedVersion: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'Compare-and-set on the version' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PolicyParams = Type.Object({
  policyId: Type.String({ minLength: 1, maxLength: 100, description: 'Policy id or name' }),
});

export const PolicyRecordSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  enabled: Type.Boolean(),
  version: Type.Integer(),
  policy: PolicyBody,
  modelId: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'The model version active when the policy body was last saved (null only for a policy stored before ' +
      'any version was active). A neuron named by index is a neuron of that version’s SAE: on a version with ' +
      'another SAE the policy does not apply until saved again (concepts carry over)',
  }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  applicable: Type.Boolean({ description: 'Whether it validates against the active model (and so applies)' }),
  problem: Type.Optional(Type.String({ description: 'Why it does not apply to the active model' })),
});

export const PolicyListQuery = Type.Object(
  { enabled: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);

export const PolicyList = Type.Object({ revision: Type.Integer(), policies: Type.Array(PolicyRecordSchema) });

export const PreviewBody = Type.Object(
  {
    policies: Type.Optional(
      Type.Array(PolicyBody, { minItems: 1, maxItems: 20, description: 'Inline policies' }),
    ),
    policyIds: Type.Optional(
      Type.Array(Type.Union([Type.Integer({ minimum: 1, maximum: MAX_ID }), Type.String({ minLength: 1 })]), {
        minItems: 1,
        maxItems: 20,
        description: 'Stored policies: ids (as the API returns them, 7 or "7") or names',
      }),
    ),
    users: Type.Optional(
      Type.Array(Type.String(), { minItems: 1, maxItems: 200, description: 'Users to preview on' }),
    ),
    sample: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 200,
        default: 20,
        description: 'Users sampled when none are given',
      }),
    ),
    seed: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_SEED,
        default: 0,
        description: 'Seed of the user sample (32-bit unsigned)',
      }),
    ),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  },
  { additionalProperties: false },
);
export type PreviewBodyT = Static<typeof PreviewBody>;

export const PreviewResponse = Type.Object({
  modelId: Type.Integer(),
  k: Type.Integer({
    description: 'The requested list length; lists hold fewer when fewer unseen items remain',
  }),
  basePolicies: Type.Array(AppliedPolicy, {
    description: 'Enabled policies applied to both lists, as live traffic applies them',
  }),
  users: Type.Array(
    Type.Object({
      userId: Type.String(),
      before: Type.Array(Type.String()),
      after: Type.Array(Type.String()),
      rbo: RboNumber,
      kendallTau: KendallNumber,
      changed: Type.Boolean(),
    }),
  ),
  effect: Type.Object({
    users: Type.Integer(),
    changedUsers: Type.Integer({ description: 'Users whose list changed' }),
    meanRbo: Type.Number({
      description: 'Mean of the users’ rbo (agreement numbers are rounded to 6 decimals)',
    }),
    meanKendallTau: Type.Number({ description: 'Mean of the users’ kendallTau' }),
    meanOverlap: Type.Number({ description: 'Mean share of the before list still in the after list' }),
    entered: Type.Array(Type.Object({ itemId: Type.String(), title: Type.String(), users: Type.Integer() }), {
      description: 'Items that entered the most lists',
    }),
    left: Type.Array(Type.Object({ itemId: Type.String(), title: Type.String(), users: Type.Integer() }), {
      description: 'Items that left the most lists',
    }),
  }),
});
