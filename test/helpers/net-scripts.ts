/**
 * Scripts run once with Node's own `net` and once with `dev.net` against the same loopback
 * server; each records the socket's events and surface, so the suites compare the two records.
 * Consecutive 'data' events are recorded once (chunking differs between any two stacks).
 */
import { connect as connectNode, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** What a script needs of a socket: net.Socket's surface (dev.net's NetSocket or Node's own). */
export type AnySocket = Duplex & {
  connecting: boolean;
  pending: boolean;
  readyState: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  bytesRead: number;
  bytesWritten: number;
  setTimeout(ms: number, cb?: () => void): unknown;
  setNoDelay(v?: boolean): unknown;
  setKeepAlive(v?: boolean, d?: number): unknown;
  ref(): unknown;
  unref(): unknown;
};
export type Connect = (port: number, host: string) => AnySocket;

/** One record: an event name, or 'name:detail'. */
export type Record = string[];

const EVENTS = ['connect', 'ready', 'data', 'end', 'finish', 'timeout', 'error', 'close'] as const;

/** Records events until 'close' (or `deadlineMs`, recorded as 'deadline'). */
function record(sock: AnySocket, deadlineMs: number, onEvent?: (name: string, arg: unknown) => void): Promise<Record> {
  const out: Record = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      out.push('deadline');
      sock.destroy();
      resolve(out);
    }, deadlineMs);
    for (const name of EVENTS) {
      sock.on(name, (arg: unknown) => {
        if (name === 'data' && out.at(-1) === 'data') return;
        if (name === 'error') {
          const e = arg as NodeJS.ErrnoException;
          out.push(`error:${e.code}:${e.errno}:${e.syscall}`);
        } else if (name === 'close') out.push(`close:${String(arg)}`);
        else out.push(name);
        onEvent?.(name, arg);
        if (name === 'close') {
          clearTimeout(timer);
          resolve(out);
        }
      });
    }
  });
}

/** The socket's surface at a moment, as one string. */
export function surface(s: AnySocket): string {
  return [
    `connecting=${s.connecting}`,
    `pending=${s.pending}`,
    `readyState=${s.readyState}`,
    `remote=${s.remoteAddress}:${s.remotePort}/${s.remoteFamily}`,
  ].join(' ');
}

/** A loopback server with scripted behaviour per connection (half-open allowed, so it can answer after EOF). */
export async function loopbackServer(
  onConn: (c: Socket) => void,
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const conns = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (c) => {
    conns.add(c);
    c.on('error', () => {});
    c.on('close', () => conns.delete(c));
    onConn(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    server,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Server speaks first and ends after the client's "bye": the client's auto-end and close. */
export async function peerEnds(connect: Connect, port: number): Promise<Record> {
  const sock = connect(port, '127.0.0.1');
  const states: string[] = [`start ${surface(sock)}`];
  const rec = record(sock, 5000, (name) => {
    if (name === 'connect') {
      states.push(`connect ${surface(sock)}`);
      sock.setNoDelay(true);
      sock.setKeepAlive(true, 1000);
      sock.write('bye');
    }
    if (name === 'end') states.push(`end ${surface(sock).replace(/ remote.*/, '')}`);
    if (name === 'close') states.push(`close readyState=${sock.readyState} destroyed=${sock.destroyed}`);
  });
  const events = await rec;
  return [...events, ...states, `bytesRead=${sock.bytesRead} bytesWritten=${sock.bytesWritten}`];
}

/** Client half-closes after "bye"; the server answers after its EOF, then ends. */
export async function clientEnds(connect: Connect, port: number): Promise<Record> {
  const sock = connect(port, '127.0.0.1');
  let text = '';
  sock.on('data', (d: Buffer) => {
    text += d.toString();
  });
  sock.on('connect', () => sock.end('bye'));
  const events = await record(sock, 5000);
  return [...events, `text=${text}`, `bytesRead=${sock.bytesRead} bytesWritten=${sock.bytesWritten}`];
}

/** Connect to a port nobody listens on. */
export async function refused(connect: Connect, port: number): Promise<Record> {
  const sock = connect(port, '127.0.0.1');
  return [`start ${surface(sock)}`, ...(await record(sock, 5000))];
}

/** A silent server: setTimeout fires 'timeout' (the socket stays open), then destroy(). */
export async function idleTimeout(connect: Connect, port: number): Promise<Record> {
  const sock = connect(port, '127.0.0.1');
  sock.setTimeout(300);
  const rec = record(sock, 5000, (name) => {
    if (name === 'timeout') setTimeout(() => sock.destroy(), 50);
  });
  return rec;
}

/** destroy(err) on a connected socket: 'error' then 'close' with hadError true. */
export async function destroyWithError(connect: Connect, port: number): Promise<Record> {
  const sock = connect(port, '127.0.0.1');
  const rec = record(sock, 5000, (name) => {
    if (name === 'connect') sock.destroy(Object.assign(new Error('boom'), { code: 'EBOOM' }));
  });
  return rec;
}

/** What a server script needs: net.createServer's shape (Node's or dev.net's). */
export interface AnyServer {
  listen(port: number, cb: () => void): unknown;
  close(cb?: () => void): unknown;
  on(ev: 'connection', cb: (s: AnySocket) => void): unknown;
}

/**
 * Server side: a Node client says "hi" and ends; the server's connection answers "bye" after
 * the client's FIN. Records the server connection's events and surface.
 */
export async function serverSide(server: AnyServer, port: number, reach: () => Promise<number>): Promise<Record> {
  const conn = new Promise<AnySocket>((r) => server.on('connection', r));
  await new Promise<void>((r) => server.listen(port, r));
  const client = connectNode(await reach());
  let answer = '';
  client.on('data', (d: Buffer) => {
    answer += d.toString();
  });
  // Taken now: over a fast line the client may close before the record below ends.
  const clientClosed = new Promise((r) => client.once('close', r));
  client.end('hi');
  const sock = await conn;
  const states = [`accepted connecting=${sock.connecting} pending=${sock.pending} readyState=${sock.readyState}`];
  let text = '';
  sock.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const rec = record(sock, 5000, (name) => {
    if (name === 'end') sock.end('bye');
  });
  const events = await rec;
  await clientClosed;
  await new Promise<void>((r) => server.close(() => r()));
  return [
    ...events,
    ...states,
    `got=${text} answer=${answer}`,
    `bytesRead=${sock.bytesRead} bytesWritten=${sock.bytesWritten}`,
  ];
}
