import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { closeGracefully } from '../../src/server/shutdown.ts';
import { appRunningSlowJob } from './fixture.ts';

function openConnection(port: number): Promise<Socket> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1', () => done(socket));
    socket.on('error', () => {});
  });
}

describe('graceful shutdown', () => {
  it('is not held up by a connection that sent nothing or half a request: it is cut, and the job still requeued', {
    timeout: 30_000,
  }, async () => {
    const { app, store, job } = await appRunningSlowJob();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const silent = await openConnection(port);
    const half = await openConnection(port);
    half.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));

    const started = Date.now();
    // Without the cut, app.close() waits for Node's 60 s header timeout on both connections.
    await closeGracefully(app, 300);
    const took = Date.now() - started;
    const after = store.jobs.get(job.id);
    store.close();
    expect(took).toBeLessThan(10_000);
    expect(silent.destroyed || silent.readableEnded).toBe(true);
    expect(half.destroyed || half.readableEnded).toBe(true);
    expect(after).toMatchObject({ status: 'queued', attempts: 0 });
  });
});
