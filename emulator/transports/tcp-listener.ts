/**
 * What the TCP-served lines (raw `socket://` and RFC 2217) share: the listening socket on
 * 127.0.0.1, the one-host rule (host-slot.ts: a host that hangs up and reconnects at once is let
 * in; a real second client gets a one-line note and is closed, so a tool pointed at a busy port
 * fails fast instead of hanging), and closing every socket at the end.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HostSlot } from './host-slot.js';

/** Sent to a refused second client before closing it (shared with host-lib, which reads it as EBUSY). */
export { BUSY_NOTE } from '../../firmware-protocol/index.js';

/** A UART line that attaches one TCP host at a time. */
export interface OneHostLine {
  readonly attached: boolean;
  /** Connects the UART to this host (called only while none is attached). */
  attach(socket: Socket): void;
  /** That host hung up (its 'end', 'error' or 'close'): disconnects it from the UART. */
  detach(socket: Socket): void;
  /** Detaches the host, if any, and releases the UART. */
  close(): void;
}

/** A listening line: its port, its pyserial-style locator, and an idempotent close. */
export interface ServedLine {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Listens and resolves with the bound port (the picked one when `port` is 0). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Serves `line` on `host:port` (default 127.0.0.1, a free port) under `scheme`, e.g.
 * `serveLine(line, 'rfc2217', {})` → `{ port: 41235, url: 'rfc2217://127.0.0.1:41235' }`.
 */
export async function serveLine(
  line: OneHostLine,
  scheme: 'socket' | 'rfc2217',
  opts: { host?: string; port?: number; onBusy?: (peer: string) => void },
): Promise<ServedLine> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const slot = new HostSlot(
    (socket) => line.attach(socket),
    (socket) => line.detach(socket),
    (peer) => opts.onBusy?.(peer),
  );
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Resets and write-after-close are ends of a session, not faults; 'close' follows.
    socket.on('error', () => undefined);
    slot.offer(socket);
  });
  const shutdown = (): void => {
    slot.close();
    line.close();
    for (const socket of sockets) socket.destroy();
  };
  let port: number;
  try {
    port = await listen(server, host, opts.port ?? 0);
  } catch (error) {
    shutdown();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= new Promise((resolve) => {
        shutdown();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
