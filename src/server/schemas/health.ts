import { Type } from 'typebox';

export const LiveResponse = Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() });

export const ReadyResponse = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not-ready')]),
  modelId: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.Optional(Type.String()),
});
