/**
 * Named virtual networks shared by several emulator processes (`netcoproc emulate --join NAME`).
 * The first process to join hosts the VirtualNetwork and serves it on a Unix socket
 * (`$TMPDIR/netcoproc-net-NAME.sock`); later ones attach their board through it. Each board gets
 * its own address, so two processes can run MicroPython's two-instance tests against each other.
 *
 * Wire: one Unix connection per board for control (JSON lines), plus one per TCP stream: its
 * first line says what it is (`{"op":"connect",…}` or `{"op":"accept","cid":N}`), then raw bytes.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { NetInterface, type NetworkCore, type TcpAcceptor } from './interface.js';
import { NetError, type NetErrorCode } from './net-error.js';
import type { UdpMessageHandler, VirtualUdp } from './udp.js';
import { VirtualNetwork, type VirtualNetworkOptions } from './virtual-network.js';

type Json = Record<string, unknown>;

/** Where the hub of network `name` listens. Names are short and plain so the path stays valid. */
export function namedNetworkPath(name: string): string {
  if (!/^[a-zA-Z0-9_-]{1,40}$/.test(name)) throw new Error(`network name '${name}': use 1-40 letters, digits, - or _`);
  return join(tmpdir(), `netcoproc-net-${name}.sock`);
}

/** Reads newline-terminated JSON from a socket; hands back the socket with any bytes after the first line. */
function onLines(sock: Socket, handle: (msg: Json) => void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        handle(JSON.parse(line) as Json);
      } catch {
        sock.destroy();
      }
    }
  });
}

/**
 * Reads the first line of a stream connection as JSON and leaves the rest unread. It reads in
 * paused mode ('readable'), so once its listener is gone the socket is back in its initial state
 * and whoever attaches a 'data' listener next gets every following byte.
 */
function firstLine(sock: Socket, timeoutMs = 5000): Promise<Json> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      sock.off('readable', onReadable);
      sock.off('error', fail);
    };
    const fail = (e: Error): void => {
      done();
      reject(e);
    };
    const timer = setTimeout(() => fail(new NetError('ETIMEDOUT', 'no header on network stream')), timeoutMs);
    const onReadable = (): void => {
      for (let chunk = sock.read() as Buffer | null; chunk !== null; chunk = sock.read() as Buffer | null) {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(10);
        if (nl < 0) continue;
        done();
        const rest = buf.subarray(nl + 1);
        if (rest.length) sock.unshift(rest);
        try {
          resolve(JSON.parse(buf.subarray(0, nl).toString('utf8')) as Json);
        } catch (e) {
          reject(e as Error);
        }
        return;
      }
    };
    sock.on('readable', onReadable);
    sock.once('error', fail);
  });
}

const send = (sock: Socket, msg: Json): void => {
  if (!sock.destroyed) sock.write(`${JSON.stringify(msg)}\n`);
};

/** One attached board: its interface, its UDP endpoints, and accepted connections not yet fetched. */
interface AttachedBoard {
  readonly sock: Socket;
  readonly nic: NetInterface;
  readonly pending: Map<number, Duplex>;
  readonly udps: Map<number, VirtualUdp>;
}

/** The network's side of the control protocol: boards attach, connect and accept over `path`. */
class NetworkServer {
  private readonly boards = new Map<Socket, AttachedBoard>();
  private nextCid = 1;

  constructor(private readonly network: VirtualNetwork) {}

  readonly onConnection = (sock: Socket): void => {
    sock.on('error', () => {});
    firstLine(sock).then(
      (hello) => {
        if (hello.op === 'attach') return this.serveBoard(sock);
        if (hello.op === 'connect') return this.serveConnect(sock, hello);
        if (hello.op === 'accept') return this.serveAccept(sock, hello);
        sock.destroy();
      },
      () => sock.destroy(),
    );
  };

  private serveBoard(sock: Socket): void {
    const board: AttachedBoard = { sock, nic: this.network.attach(), pending: new Map(), udps: new Map() };
    this.boards.set(sock, board);
    send(sock, { ip: board.nic.ip });
    onLines(sock, (m) => void this.boardOp(board, m));
    sock.on('close', () => {
      this.boards.delete(sock);
      for (const u of board.udps.values()) u.close();
      for (const c of board.pending.values()) c.destroy();
      void board.nic.close();
    });
  }

  /** One request of an attached board; a failure answers its `id` with the error code. */
  private async boardOp(board: AttachedBoard, m: Json): Promise<void> {
    const { sock, nic, udps } = board;
    const id = m.id;
    try {
      if (m.op === 'resolve') send(sock, { id, ips: await nic.resolve(String(m.name)) });
      else if (m.op === 'listen') send(sock, { id, port: await this.listen(board, Number(m.port)) });
      else if (m.op === 'unlisten') this.network.unregisterListener(nic.ip, Number(m.port));
      else if (m.op === 'udp-open') send(sock, { id, port: await this.openUdp(board, Number(m.port)) });
      else if (m.op === 'udp-send')
        udps.get(Number(m.lport))?.send(Buffer.from(String(m.data), 'base64'), String(m.ip), Number(m.port));
      else if (m.op === 'udp-close') {
        udps.get(Number(m.lport))?.close();
        udps.delete(Number(m.lport));
      }
    } catch (err) {
      if (id !== undefined)
        send(sock, { id, error: (err as NetError).code ?? 'EINVAL', message: (err as Error).message });
    }
  }

  /** A board's listener: each incoming connection waits in `pending` until the board accepts it. */
  private async listen(board: AttachedBoard, port: number): Promise<number> {
    const acceptor: TcpAcceptor = (conn, peer) => {
      const cid = this.nextCid++;
      board.pending.set(cid, conn);
      send(board.sock, { op: 'incoming', cid, lport: listener.port, peer });
      return true;
    };
    const listener = await board.nic.listenTcp(port, acceptor, false);
    return listener.port;
  }

  private async openUdp(board: AttachedBoard, port: number): Promise<number> {
    const udp = await board.nic.openUdp(port);
    board.udps.set(udp.localPort, udp);
    udp.onMessage((data, ip, from) =>
      send(board.sock, {
        ...{ op: 'udp-recv', lport: udp.localPort, ip, port: from },
        data: Buffer.from(data).toString('base64'),
      }),
    );
    return udp.localPort;
  }

  private async serveConnect(sock: Socket, h: Json): Promise<void> {
    try {
      const conn = await this.network.connectFrom(String(h.src), String(h.ip), Number(h.port));
      send(sock, { ok: true });
      pipeBoth(sock, conn);
    } catch (err) {
      send(sock, { error: (err as NetError).code ?? 'ECONNREFUSED' });
      sock.end();
    }
  }

  private serveAccept(sock: Socket, h: Json): void {
    for (const b of this.boards.values()) {
      const conn = b.pending.get(Number(h.cid));
      if (!conn) continue;
      b.pending.delete(Number(h.cid));
      pipeBoth(sock, conn);
      return;
    }
    sock.destroy();
  }
}

/** Serves `network` to other processes on `path`. */
export async function serveNetwork(network: VirtualNetwork, path: string): Promise<Server> {
  const server = createServer(new NetworkServer(network).onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}

/** Joins two streams both ways; a reset on one resets the other. */
function pipeBoth(sock: Socket, conn: Duplex): void {
  sock.resume();
  sock.pipe(conn);
  conn.pipe(sock);
  sock.on('error', () => conn.destroy(new NetError('ECONNRESET', 'peer reset')));
  conn.on('error', () => sock.destroy());
  sock.on('close', () => conn.destroy());
}

/** A board in another process: NetworkCore over the hub's Unix socket. */
class RemoteCore implements NetworkCore {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(m: Json): void; reject(e: Error): void }>();
  private readonly listeners = new Map<number, TcpAcceptor>();
  private readonly udpHandlers = new Map<number, UdpMessageHandler>();

  constructor(
    private readonly path: string,
    private readonly control: Socket,
  ) {
    onLines(control, (m) => this.onMessage(m));
    control.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new NetError('ECONNRESET', 'left the named network'));
      this.waiting.clear();
    });
  }

  private onMessage(m: Json): void {
    if (typeof m.id === 'number') {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error) w?.reject(new NetError(m.error as NetErrorCode, String(m.message ?? m.error)));
      else w?.resolve(m);
    } else if (m.op === 'incoming') this.onIncoming(m);
    else if (m.op === 'udp-recv')
      this.udpHandlers.get(Number(m.lport))?.(Buffer.from(String(m.data), 'base64'), String(m.ip), Number(m.port));
  }

  private onIncoming(m: Json): void {
    const acceptor = this.listeners.get(Number(m.lport));
    const sock = createConnection(this.path);
    // The header goes first: writes queue in order until the connection is up.
    send(sock, { op: 'accept', cid: m.cid });
    sock.on('error', () => {});
    if (!acceptor?.(sock, m.peer as [string, number])) sock.destroy();
  }

  private ask(msg: Json): Promise<Json> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      send(this.control, { ...msg, id });
    });
  }

  async resolve(name: string): Promise<string[]> {
    return (await this.ask({ op: 'resolve', name })).ips as string[];
  }

  async connectFrom(src: string, ip: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    const sock = createConnection(this.path);
    sock.on('error', () => {});
    const abort = (): void => {
      sock.destroy();
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', () => resolve());
        sock.once('close', () => reject(new NetError('ETIMEDOUT', 'connect cancelled')));
      });
      send(sock, { op: 'connect', src, ip, port });
      const answer = await firstLine(sock, 60_000);
      if (answer.error) throw new NetError(answer.error as NetErrorCode, `${ip}:${port}: ${answer.error}`);
      return sock; // still paused: the first reader gets every byte
    } catch (err) {
      sock.destroy();
      throw signal?.aborted ? new NetError('ETIMEDOUT', 'connect cancelled') : err;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async openUdpOn(_ip: string, port: number): Promise<VirtualUdp> {
    const lport = Number((await this.ask({ op: 'udp-open', port })).port);
    const control = this.control;
    return {
      localPort: lport,
      send: (data, ip, dport) =>
        send(control, { op: 'udp-send', lport, ip, port: dport, data: Buffer.from(data).toString('base64') }),
      onMessage: (cb) => this.udpHandlers.set(lport, cb),
      close: () => {
        this.udpHandlers.delete(lport);
        send(control, { op: 'udp-close', lport });
      },
    };
  }

  async registerListener(_ip: string, port: number, acceptor: TcpAcceptor): Promise<number> {
    const bound = Number((await this.ask({ op: 'listen', port })).port);
    this.listeners.set(bound, acceptor);
    return bound;
  }

  unregisterListener(_ip: string, port: number): void {
    this.listeners.delete(port);
    send(this.control, { op: 'unlisten', port });
  }

  detach(): void {
    this.control.end();
  }
}

export interface NamedNetwork {
  /** The board's attachment (its own address on the shared network). */
  nic: NetInterface;
  /** The hub's network when this process hosts it. */
  network?: VirtualNetwork;
  close(): Promise<void>;
}

/**
 * Joins network `name`: hosts it if nobody does yet, else attaches through the hub.
 *
 * ```ts
 * const a = await joinNamedNetwork('lab');  // in process 1: hub, board 10.77.0.2
 * const b = await joinNamedNetwork('lab');  // in process 2: board 10.77.0.3
 * ```
 */
export async function joinNamedNetwork(name: string, opts: VirtualNetworkOptions = {}): Promise<NamedNetwork> {
  const path = namedNetworkPath(name);
  const control = await new Promise<Socket | undefined>((resolve) => {
    const s = createConnection(path, () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
  if (control) {
    send(control, { op: 'attach' });
    const { ip } = await firstLine(control);
    const core = new RemoteCore(path, control);
    return {
      nic: new NetInterface(core, String(ip)),
      close: async () => {
        control.end();
      },
    };
  }
  const { rmSync } = await import('node:fs');
  rmSync(path, { force: true }); // a stale socket file of a hub that died
  const network = new VirtualNetwork(opts);
  const server = await serveNetwork(network, path);
  const nic = network.attach();
  return {
    nic,
    network,
    close: async () => {
      await nic.close();
      await new Promise<void>((r) => server.close(() => r()));
      await network.close();
      rmSync(path, { force: true });
    },
  };
}
