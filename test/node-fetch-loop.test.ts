/**
 * Back-to-back dev.fetch calls with no pause between them, in-process (the emulator's UART handed
 * straight to host-lib): undici hands a kept-alive connection back to its pool on a later turn of
 * the event loop, so a response must not reach undici before the loop has turned — else every
 * fetch opens a new board socket and the ninth fails with ENFILE. Over SLIP and over ESP-AT.
 * (undici: client-h1.js returns the connection on setImmediate after a response, and checks an
 * idle one on another before reuse; docs/performance.md "In-process per-frame costs" item 6.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, PROTOCOLS, type Target } from './helpers/node-targets.js';
import { allBytes } from './helpers/patterns.js';

describe.each(PROTOCOLS)('sequential dev.fetch over %s in-process', (protocol) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(protocol);
  });
  afterAll(async () => t?.close());

  it('20 fetches in a row succeed and reuse a few board sockets', async () => {
    let most = 0;
    for (let i = 0; i < 20; i++) {
      const res = await t.dev.fetch('http://http.test/bytes/10');
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(allBytes(10)), `fetch ${i + 1}`).toBe(true);
      most = Math.max(most, t.emu.personality.table.open().length);
    }
    // One kept-alive connection is reused; allow a second for a response racing its return to the pool.
    expect(most).toBeLessThanOrEqual(2);
  });

  it("a dev.net socket's 'data' comes after a check phase, as from a Node socket's I/O callback", async () => {
    // The in-process board answers without the loop turning (emulator/uart-line.ts); undici
    // relies on a setImmediate between two reads, so net-socket.ts gives it one.
    const sock = t.dev.net.connect(7, 'echo.test');
    await new Promise((r) => sock.once('connect', r));
    const afterCheckPhase: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      let turned = false;
      setImmediate(() => {
        turned = true;
      });
      const echoed = new Promise<void>((r) =>
        sock.once('data', () => {
          afterCheckPhase.push(turned);
          r();
        }),
      );
      sock.write('x');
      await echoed;
    }
    sock.destroy();
    expect(afterCheckPhase).toEqual([true, true, true, true, true]);
  });
});

describe.each(PROTOCOLS)('dev.net server over %s in-process', (protocol) => {
  let t: Target;
  beforeAll(async () => {
    t = await openTarget(protocol);
  });
  afterAll(async () => t?.close());

  it('close() while its accept waits ends the accept and emits close', async () => {
    const srv = t.dev.net.createServer();
    await new Promise<void>((r) => srv.listen(9020, r));
    await new Promise((r) => setTimeout(r, 20)); // the accept loop is now waiting
    const closed = new Promise<string>((r) => srv.close((err) => r(err ? err.message : 'closed')));
    const deadline = new Promise<string>((r) => setTimeout(() => r('no close within 5 s'), 5000).unref());
    expect(await Promise.race([closed, deadline])).toBe('closed');
    expect(srv.listening).toBe(false);
  });
});
