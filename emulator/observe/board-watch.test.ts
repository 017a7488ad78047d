/**
 * BoardWatch snapshots of an in-process board: identity, every kind of socket row, forwards,
 * decoded exchanges and faults, and a new boot after a reboot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDevice } from '../../index.js';
import { createEmulator, type Emulator } from '../emulator.js';
import { BoardWatch } from './board-watch.js';

describe('BoardWatch', () => {
  let emu: Emulator | undefined;
  afterEach(async () => {
    await emu?.close();
  });

  it('describes the board, its UDP, listening and connected sockets, forwards and the exchanges', async () => {
    const watch = new BoardWatch({ protocol: 'slip' });
    emu = createEmulator({ seed: 3, pki: undefined, faults: {}, observers: [watch] });
    watch.bind(emu);
    const dev = await openDevice(emu.uart);
    const { socket } = dev;
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    await u.bind(['0.0.0.0', 5000]);
    const l = await socket.socket();
    await l.bind(['0.0.0.0', 8080]);
    const forward = await l.listen(1);
    const c = await socket.socket();
    c.settimeout(5);
    await c.connect(['echo.test', 7]);
    await c.sendall(new TextEncoder().encode('abc'));
    await c.recv(3);
    const snap = watch.snapshot();
    expect(snap.board).toMatchObject({ protocol: 'slip', profile: 'wipy', ip: '10.77.0.2', attached: false });
    expect(
      snap.sockets.map(({ id, kind, state, local, remote, bytesIn, bytesOut, queued }) => [
        id,
        kind,
        state,
        local,
        remote,
        bytesIn,
        bytesOut,
        queued,
      ]),
    ).toEqual([
      [0, 'udp', 'open', '10.77.0.2:5000', '', 0, 0, 0],
      [1, 'tcp', 'listening', '10.77.0.2:8080', '', 0, 0, 0],
      [2, 'tcp', 'connected', '10.77.0.2:*', '10.77.0.7:7', 3, 3, 0],
    ]);
    expect(snap.forwards).toEqual([{ ip: '10.77.0.2', port: 8080, forwardPort: forward }]);
    expect(watch.lines()).toContain('host→dev  #1 HELLO version 1 maxFrame 16395 rxWindow 65536');
    expect(snap.exchanges.some((e) => /^#\d+ CONNECT sock 2 addr 10\.77\.0\.7:7/.test(e.text))).toBe(true);

    const nonce = snap.board.bootNonce;
    const reset = new Promise((r) => dev.once('reset', r));
    emu.faults.hang();
    emu.faults.resume();
    emu.reboot();
    await reset;
    const after = watch.snapshot();
    expect(after.board.bootNonce).not.toBe(nonce);
    expect(after.sockets).toEqual([]);
    expect(after.faults.map((f) => f.kind)).toEqual(['hang', 'resume', 'reboot']);
    await dev.close();
  });
});
