import { describe, expect, it } from 'vitest';
import { CommitRefused } from '../../src/jobs/commit.ts';
import { failureMessage } from '../../src/jobs/worker-failure.ts';
import { MlError } from '../../src/ml/core/errors.ts';
import { StoreError } from '../../src/store/errors.ts';

describe('failureMessage', () => {
  it("keeps Prism's own errors, which name what to fix", () => {
    const m = failureMessage(
      new MlError('BAD_FILE', '/data/x.csv, line 3: expected 2 fields', 'data'),
      false,
    );
    expect(m).toMatchObject({
      message: '/data/x.csv, line 3: expected 2 fields',
      code: 'BAD_FILE',
      cancelled: false,
    });
    expect(m.detail).toBeUndefined();
    // The store's errors are written for the reader too (a base version deleted meanwhile, a corrupt artifact).
    const gone = failureMessage(new StoreError('NOT_FOUND', 'base model version 3 no longer exists'), false);
    expect(gone).toMatchObject({ message: 'base model version 3 no longer exists', code: 'NOT_FOUND' });
  });

  it('says a save failed, with the database error', () => {
    const m = failureMessage(new Error('SQLITE_FULL: database or disk is full'), false);
    expect(m.message).toBe("saving the job's results failed: SQLITE_FULL: database or disk is full");
    expect(m.detail).toBeUndefined();
    expect(failureMessage(new CommitRefused('its base version was deleted', false), false).message).toBe(
      "saving the job's results failed: its base version was deleted",
    );
  });

  it('keeps the text of any other error out of the job and hands its stack to the log', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'push')");
    const m = failureMessage(bug, false);
    expect(m.message).toBe('internal error (TypeError); the server log has the details');
    expect(m.message).not.toContain('push');
    expect(m.code).toBeNull();
    expect(m.detail).toContain("reading 'push'");
    expect(m.detail).toContain('worker-failure.test.ts'); // the stack, not just the message
  });

  it('reports a cancellation as such, whatever error it surfaced as', () => {
    expect(failureMessage(new TypeError('aborted mid-step'), true)).toMatchObject({
      message: 'cancelled',
      cancelled: true,
    });
    expect(failureMessage(new MlError('CANCELLED', 'job cancelled'), false).cancelled).toBe(true);
    expect(failureMessage(new CommitRefused('cancelled before saving', true), false).cancelled).toBe(true);
  });
});
