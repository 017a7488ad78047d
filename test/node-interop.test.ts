/**
 * Node interop: a connected coprocessor socket as a Node Duplex, so node:http runs over it;
 * and the esp32 profile's newlib errno numbers are translated at the host boundary.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../emulator/index.js';
import { encodeWire, MessageDecoder } from '../firmware-protocol/index.js';
import { type OSError, openDevice } from '../index.js';
import { allBytes } from './helpers/patterns.js';

describe('Node interop', () => {
  it('node:http GET /bytes/100000 from http.test through the device (createConnection)', async () => {
    const dev = await openDevice('emulator:');
    const s = await dev.socket.socket();
    await s.connect(['http.test', 80]);
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        { host: 'http.test', path: '/bytes/100000', createConnection: () => s.asDuplex() as never },
        (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-length']).toBe('100000');
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => resolve(Buffer.concat(parts)));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body.equals(allBytes(100000))).toBe(true);
    await dev.close();
  });
});

describe('esp32 profile errno numbering', () => {
  it('the device sends newlib numbers on the wire; the host raises Linux numbers', async () => {
    const emu = createEmulator({ profile: 'esp32' });
    // Raw exchange: hello, socket, recv-less CONNECT twice to get EALREADY in newlib numbering.
    const dec = new MessageDecoder(65536);
    const seen: number[] = [];
    emu.uart.on('data', (c: Buffer) => {
      for (const i of dec.push(c)) if (i.type === 'message' && i.msg.kind === 'response') seen.push(i.msg.status);
    });
    emu.uart.write(
      encodeWire({ kind: 'request', seq: 1, op: 'HELLO', body: { version: 1, maxFrame: 4096, rxWindow: 4096 } }),
    );
    emu.uart.write(encodeWire({ kind: 'request', seq: 2, op: 'SOCKET', body: { family: 2, type: 1, proto: 0 } }));
    emu.uart.write(encodeWire({ kind: 'request', seq: 3, op: 'CONNECT', body: { sock: 0, addr: ['10.77.0.66', 80] } }));
    emu.uart.write(encodeWire({ kind: 'request', seq: 4, op: 'CONNECT', body: { sock: 0, addr: ['10.77.0.66', 80] } }));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([0, 0, 119, 120]); // EINPROGRESS, EALREADY in newlib numbering
    await emu.close();

    const dev = await openDevice('emulator:?profile=esp32');
    expect(dev.profile).toBe('esp32');
    const s = await dev.socket.socket();
    s.setblocking(false);
    const err = await s.connect(['blackhole.test', 80]).catch((e: OSError) => e);
    expect((err as OSError).errno).toBe(dev.errno.EINPROGRESS);
    expect(dev.errno.EINPROGRESS).toBe(115);
    await dev.close();
  });
});
