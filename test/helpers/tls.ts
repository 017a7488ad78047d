/** Shared pieces of the TLS suites (test/tls-*.test.ts): HTTPS over any socket-like object, error checks, bad peers. */
import { createServer, type Socket as NetSocket, type Server } from 'node:net';
import { expect } from 'vitest';
import { OSError } from '../../host-lib/index.js';
import { splitHttp } from './patterns.js';

/** What an HTTPS exchange needs: a device socket with device-side TLS, or a host-side SSLSocket. */
export interface Stream {
  write(data: Uint8Array | string): Promise<number | null>;
  read(n?: number): Promise<Uint8Array | null>;
}

/** GET /bytes/n over `s` (Connection: close) and read to EOF; checks status, length and pattern. */
export async function getBytes(s: Stream, host: string, n: number): Promise<Buffer> {
  await s.write(`GET /bytes/${n} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const raw = Buffer.from((await s.read()) ?? new Uint8Array(0));
  const { status, body } = splitHttp(raw);
  expect(status).toBe('HTTP/1.1 200 OK');
  expect(body.length).toBe(n);
  let bad = -1;
  for (let i = 0; i < n; i++)
    if (body[i] !== (i & 0xff)) {
      bad = i;
      break;
    }
  expect(bad, 'first byte that breaks the i & 0xff pattern').toBe(-1);
  return body;
}

/** Awaits a rejection with OSError(errno); returns it for further checks. */
export async function raises(p: Promise<unknown>, errno: number): Promise<OSError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected an OSError').toBeInstanceOf(OSError);
  expect((err as OSError).errno, String(err)).toBe(errno);
  return err as OSError;
}

/** Awaits a rejection with an Error of this name (TypeError, ValueError) whose message names `arg`. */
export async function raisesArg(p: Promise<unknown> | (() => unknown), name: string, arg: string): Promise<void> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a ${name}`).toBeInstanceOf(Error);
  expect((err as Error).name).toBe(name);
  expect((err as Error).message).toContain(arg);
}

/** A loopback TCP peer that misbehaves during a TLS handshake: never answers, or hangs up at the client's hello. */
export async function badPeer(kind: 'silent' | 'hang-up'): Promise<{ port: number; close(): Promise<void> }> {
  const conns = new Set<NetSocket>();
  const server: Server = createServer((c) => {
    conns.add(c);
    c.on('error', () => {});
    if (kind === 'hang-up') c.once('data', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
