/**
 * A host that closes and at once reopens, again and again, against `netcoproc emulate` as a real
 * child process, on every TCP-based transport and both personalities: every reopen works (the
 * emulator lets the old host go when it hangs up, not only once its socket has fully closed),
 * and a second host that really is refused gets OSError(EBUSY) "busy, another host is attached".
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWire, type Message, MessageDecoder, PROTOCOL_VERSION } from '../../firmware-protocol/index.js';
import { OSError, openDevice } from '../../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';
import { rssKiB } from './rss.js';

const settle = (p: Promise<unknown>) =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

/** One raw TCP session: HELLO, its answer (or whatever the emulator says), close. Deadline 2 s. */
function helloOnce(port: number): Promise<'ok' | 'busy' | string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const dec = new MessageDecoder(1 << 16);
    let text = '';
    const done = (r: string) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(`no answer in 2 s (${JSON.stringify(text)})`), 2000);
    sock.on('connect', () =>
      sock.write(
        encodeWire({
          kind: 'request',
          seq: 1,
          op: 'HELLO',
          body: { version: PROTOCOL_VERSION, maxFrame: 4096, rxWindow: 4096 },
        } as Message),
      ),
    );
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('busy')) return done('busy');
      for (const item of dec.push(d)) if (item.type === 'message' && item.msg.op === 'HELLO') return done('ok');
    });
    sock.on('error', (e) => done(`error ${e.message}`));
    sock.on('close', () => done(`closed (${JSON.stringify(text)})`));
  });
}

describe.each([
  { protocol: 'slip' as const, via: 'socket' as const },
  { protocol: 'slip' as const, via: 'rfc2217' as const },
  { protocol: 'at' as const, via: 'socket' as const },
  { protocol: 'slip' as const, via: 'pty' as const },
  { protocol: 'at' as const, via: 'pty' as const },
])('emulator $protocol via $via://', ({ protocol, via }) => {
  let emu: SpawnedEmulator;
  let url: string;
  beforeAll(async () => {
    const transport =
      via === 'socket' ? ['--listen', 'tcp://127.0.0.1:0'] : via === 'pty' ? ['--pty'] : ['--rfc2217', '0'];
    emu = await spawnEmulator(['--protocol', protocol, ...transport]);
    url = (via === 'socket' ? emu.url : via === 'pty' ? emu.pty : emu.rfc2217) as string;
  });
  afterAll(async () => {
    await emu.stop();
  });

  it('openDevice -> close -> openDevice, 50 times: every open works; memory stays bounded', async () => {
    await openDevice(url, { protocol }).then((d) => d.close()); // warm up before the baseline
    const rssBefore = rssKiB(emu.proc.pid as number);
    const failures: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await settle(openDevice(url, { protocol }).then((d) => d.close()));
      if (r instanceof Error) failures.push(`${i}: ${r.message}`);
    }
    expect(failures).toEqual([]);
    // The emulator still serves a host that does real work.
    const dev = await openDevice(url, { protocol });
    const [info] = await dev.socket.getaddrinfo('echo.test', 7);
    expect(info?.[4]).toEqual(['10.77.0.7', 7]);
    await dev.close();
    expect(rssKiB(emu.proc.pid as number) - rssBefore).toBeLessThan(64 * 1024);
  });

  // A pty cannot refuse a second opener (the kernel lets both in); serialport's lock keeps one process out.
  it.skipIf(via === 'pty')(
    "a second host while one is attached: OSError EBUSY with the device's words; the first goes on",
    async () => {
      const first = await openDevice(url, { protocol });
      try {
        const err = await settle(openDevice(url, { protocol }));
        expect(err).toBeInstanceOf(OSError);
        expect((err as OSError).errno).toBe(first.errno.EBUSY);
        expect((err as OSError).message).toMatch(/busy, another host is attached/);
        const [info] = await first.socket.getaddrinfo('echo.test', 7);
        expect(info?.[4]).toEqual(['10.77.0.7', 7]);
      } finally {
        await first.close();
      }
    },
  );

  it.runIf(protocol === 'slip' && via === 'socket')(
    '1000 quick HELLO sessions: none is told busy',
    async () => {
      const port = Number(new URL(url.replace('socket:', 'http:')).port);
      const outcomes = new Map<string, number>();
      for (let i = 0; i < 1000; i++) {
        const r = await helloOnce(port);
        outcomes.set(r, (outcomes.get(r) ?? 0) + 1);
      }
      expect(Object.fromEntries(outcomes)).toEqual({ ok: 1000 });
    },
    60_000,
  );
});
