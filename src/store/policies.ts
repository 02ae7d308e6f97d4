import { StoreError } from './errors.ts';
import { nowIso } from './json.ts';
import type { Db, PolicyRecord, PolicyRepo } from './types.ts';

interface PolicyRow {
  id: number;
  name: string;
  policy: string;
  enabled: number;
  version: number;
  model_id: number | null;
  created_at: string;
  updated_at: string;
}

const toRecord = <P>(r: PolicyRow): PolicyRecord<P> => ({
  id: r.id,
  name: r.name,
  policy: JSON.parse(r.policy) as P,
  enabled: r.enabled === 1,
  version: r.version,
  modelId: r.model_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const isUniqueViolation = (err: unknown): boolean =>
  (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';

export function createPolicyRepo(db: Db): PolicyRepo {
  const insert = db.prepare(`INSERT INTO policies (name, policy, enabled, model_id, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?) RETURNING *`);
  const selectOne = db.prepare('SELECT * FROM policies WHERE id = ?');
  const selectByName = db.prepare('SELECT * FROM policies WHERE name = ?');
  const remove = db.prepare('DELETE FROM policies WHERE id = ?');
  const bump = db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'policies'");
  const revision = db.prepare("SELECT value FROM counters WHERE name = 'policies'").pluck();

  const conflict = (name: string) =>
    new StoreError('CONFLICT', `a policy named "${name}" already exists`, 'name');

  const create = db.transaction(
    <P>(input: { name: string; policy: P; enabled?: boolean; modelId?: number | null }): PolicyRecord<P> => {
      const now = nowIso();
      try {
        const row = insert.get(
          input.name,
          JSON.stringify(input.policy),
          input.enabled === false ? 0 : 1,
          input.modelId ?? null,
          now,
          now,
        ) as PolicyRow;
        bump.run();
        return toRecord<P>(row);
      } catch (err) {
        throw isUniqueViolation(err) ? conflict(input.name) : err;
      }
    },
  );

  const update = db.transaction(
    <P>(
      id: number,
      patch: { name?: string; policy?: P; enabled?: boolean; modelId?: number | null },
      expectedVersion?: number,
    ): PolicyRecord<P> | null => {
      const row = selectOne.get(id) as PolicyRow | undefined;
      if (!row) return null;
      if (expectedVersion !== undefined && row.version !== expectedVersion) {
        throw new StoreError(
          'CONFLICT',
          `policy ${id} is at version ${row.version}, not ${expectedVersion}`,
          'expectedVersion',
        );
      }
      const name = patch.name ?? row.name;
      const policy = patch.policy === undefined ? row.policy : JSON.stringify(patch.policy);
      const enabled = patch.enabled === undefined ? row.enabled : patch.enabled ? 1 : 0;
      const modelId = patch.modelId === undefined ? row.model_id : patch.modelId;
      // Nothing changes: no new version (other writers' expectedVersion stays valid) and no new revision
      // (cached recommendations stay valid).
      if (name === row.name && policy === row.policy && enabled === row.enabled && modelId === row.model_id)
        return toRecord<P>(row);
      try {
        const next = db
          .prepare(`UPDATE policies SET name = ?, policy = ?, enabled = ?, model_id = ?,
            version = version + 1, updated_at = ? WHERE id = ? RETURNING *`)
          .get(name, policy, enabled, modelId, nowIso(), id) as PolicyRow;
        bump.run();
        return toRecord<P>(next);
      } catch (err) {
        throw isUniqueViolation(err) ? conflict(name) : err;
      }
    },
  );

  const del = db.transaction((id: number): boolean => {
    const gone = remove.run(id).changes > 0;
    if (gone) bump.run();
    return gone;
  });

  return {
    create: <P>(input: { name: string; policy: P; enabled?: boolean; modelId?: number | null }) =>
      create.immediate(input) as PolicyRecord<P>,
    get<P>(id: number) {
      const row = selectOne.get(id) as PolicyRow | undefined;
      return row ? toRecord<P>(row) : null;
    },
    getByName<P>(name: string) {
      const row = selectByName.get(name) as PolicyRow | undefined;
      return row ? toRecord<P>(row) : null;
    },
    list<P>(filter: { enabled?: boolean } = {}) {
      const rows = (
        filter.enabled === undefined
          ? db.prepare('SELECT * FROM policies ORDER BY id').all()
          : db.prepare('SELECT * FROM policies WHERE enabled = ? ORDER BY id').all(filter.enabled ? 1 : 0)
      ) as PolicyRow[];
      return rows.map((r) => toRecord<P>(r));
    },
    update: <P>(
      id: number,
      patch: { name?: string; policy?: P; enabled?: boolean; modelId?: number | null },
      expectedVersion?: number,
    ) => update.immediate(id, patch, expectedVersion) as PolicyRecord<P> | null,
    delete: (id) => del.immediate(id),
    revision: () => revision.get() as number,
  };
}
