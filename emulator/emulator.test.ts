/**
 * `uartKeptNothing`: whether a writer of host bytes may reuse its buffer (the pty transport lends
 * its read buffer when it may, docs/performance.md item 32). Only where the SLIP personality's
 * decoder takes the bytes in directly; anything between them may keep the chunk.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeWire } from '../firmware-protocol/index.js';
import { createEmulator, type Emulator, type EmulatorOptions } from './emulator.js';

const boards: Emulator[] = [];
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close();
});

function board(opts: EmulatorOptions): Emulator {
  const b = createEmulator(opts);
  boards.push(b);
  return b;
}

describe('createEmulator: uartKeptNothing', () => {
  it('holds for the plain SLIP board, after it took in a request and answered it', async () => {
    const b = board({});
    const answer = new Promise((resolve) => b.uart.once('data', resolve));
    b.uart.write(encodeWire({ kind: 'request', seq: 1, op: 'PING', body: { payload: Uint8Array.of(1, 2) } }));
    expect(b.uartKeptNothing()).toBe(true);
    await answer;
    expect(b.uartKeptNothing()).toBe(true);
  });

  it('does not with a pacer, a fault scenario, an observer of the line, or the ESP-AT personality', () => {
    const others: EmulatorOptions[] = [
      { baud: 115200 },
      { faults: { line: { both: { corrupt: 1e-4 } } } },
      { observers: [{ serial: () => {} }] },
      { protocol: 'at' },
    ];
    for (const opts of others) expect(board(opts).uartKeptNothing()).toBe(false);
    // An observer of the network only leaves the line as it is.
    expect(board({ observers: [{ fault: () => {} }] }).uartKeptNothing()).toBe(true);
  });
});
