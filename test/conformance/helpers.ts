/** Small helpers for the conformance suite: errno capture, loopback peers, timing. */
import { createServer, type Socket as NetSocket, type Server } from 'node:net';
import { OSError } from '../../host-lib/index.js';

/** The errno a promise rejects with (fails the test if it resolves or throws something else). */
export async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof OSError) return e.errno;
    throw e;
  }
  throw new Error('expected an OSError, but the call succeeded');
}

/**
 * Where the device reaches peers this test process runs: this machine's loopback for emulators
 * and the agent, this machine's LAN address for a real board (NETCOPROC_PEER_HOST, docs/hil.md).
 */
export function peerHost(): string {
  return process.env.NETCOPROC_PEER_HOST ?? '127.0.0.1';
}

/** A loopback TCP server for tests (the device reaches the machine's 127.0.0.1). */
export async function loopbackServer(
  onConn: (c: NetSocket) => void = () => {},
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const conns = new Set<NetSocket>();
  const server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => {});
    onConn(c);
  });
  // A real board on the LAN reaches us on every interface; otherwise stay on loopback.
  await new Promise<void>((r) => server.listen(0, process.env.NETCOPROC_PEER_HOST ? '0.0.0.0' : '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const text = (b: Uint8Array | null): string => (b === null ? 'None' : Buffer.from(b).toString());
