import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_PATH, renderOpenApi } from '../../scripts/export-openapi.ts';

describe('OpenAPI document', () => {
  it('openapi/openapi.json matches the route schemas (run `npm run openapi` after changing them)', async () => {
    const fromCode = await renderOpenApi();
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(fromCode);
  });

  it('documents every route with parameters, bodies and error responses', async () => {
    const doc = JSON.parse(await renderOpenApi());
    type Op = {
      operationId?: string;
      summary?: string;
      responses: Record<string, unknown>;
      parameters?: { name: string; in: string; required?: boolean }[];
      requestBody?: { content: Record<string, { schema: unknown }> };
    };
    const ops = Object.entries(doc.paths as Record<string, Record<string, Op>>).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, op })),
    );
    expect(ops.length).toBeGreaterThanOrEqual(20);
    // Client generators name their methods after operationIds (without them: v1UsersUserIdRecommendationsGet).
    const operationIds = ops.map(({ op }) => op.operationId);
    for (const { path, method, op } of ops) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.summary, `${method} ${path}`).toBeTruthy();
    }
    expect(new Set(operationIds).size).toBe(ops.length);
    // What Fastify answers before a handler runs is documented where it can happen.
    for (const { path, method, op } of ops) {
      const codes = Object.keys(op.responses);
      if (path.includes('{')) expect(codes, `${method} ${path}`).toContain('414');
      if (method !== 'get')
        expect(codes, `${method} ${path}`).toEqual(expect.arrayContaining(['413', '415']));
    }
    for (const { path, method, op } of ops) {
      if (path.startsWith('/health')) continue;
      const codes = Object.keys(op.responses);
      expect(
        codes.some((c) => c.startsWith('2')),
        `${method} ${path}`,
      ).toBe(true);
      expect(codes, `${method} ${path}`).toContain('400');
      expect(codes, `${method} ${path}`).toContain('401');
      // Every {placeholder} of the path is a declared, required path parameter.
      const placeholders = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), `${method} ${path}`).toEqual(placeholders.sort());
      for (const p of declared) expect(p.required, `${method} ${path} ${p.name}`).toBe(true);
      // Creating and editing take a JSON body; the action endpoints (cancel, activate) take none.
      const action = /\/(cancel|activate)$/.test(path);
      if (method === 'patch' || (method === 'post' && !action))
        expect(op.requestBody?.content['application/json']?.schema, `${method} ${path}`).toBeDefined();
      if (method === 'get' || method === 'delete' || action)
        expect(op.requestBody, `${method} ${path}`).toBeUndefined();
    }
    expect(doc.components.schemas.Error.required).toEqual(['statusCode', 'code', 'error', 'message']);
    const rec = doc.paths['/v1/users/{userId}/recommendations'].get;
    expect(rec.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['compare', 'exclude', 'explain', 'k', 'policy', 'topNeurons', 'userId'].sort(),
    );
  });

  it('declares optional bearer security on /v1 reads (PRISM_READS_OPEN=false needs the key there), bearer on mutations', async () => {
    const doc = JSON.parse(await renderOpenApi());
    let reads = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const [method, op] of Object.entries(item as Record<string, { security?: unknown }>)) {
        if (!path.startsWith('/v1/')) expect(op.security, `${method} ${path}`).toBeUndefined();
        else if (method === 'get') {
          reads++;
          expect(op.security, `${method} ${path}`).toEqual([{}, { bearer: [] }]);
        } else expect(op.security, `${method} ${path}`).toEqual([{ bearer: [] }]);
      }
    }
    expect(reads).toBeGreaterThanOrEqual(10);
  });
});
