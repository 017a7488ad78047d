/**
 * The socket operations over ESP-AT connections (link ids 0–4): what an AtSocket asks of the
 * driver (AtSocketHost) — TCP and SSL connects with AT+CIPSTART, UDP links, datagrams, the one
 * AT+CIPSERVER, peers, closing — and the sockets themselves. The driver (at-driver.ts) owns the
 * module's lifecycle: start-up, URCs, reboots, the link to the board.
 */
import { at, constants as C, errno as E, type LineRate } from '../../firmware-protocol/index.js';
import type { SockAddr } from '../driver.js';
import { OSError, osError } from '../errors.js';
import { AtSocket, type AtSocketHost } from './at-socket.js';
import type { AtChannel, AtCommand } from './channel.js';
import { infoLines } from './command.js';
import { connectTimedOut } from './errno-map.js';
import type { LinkEntry, LinkTable } from './links.js';
import { configureSslLink, ensureRealTime } from './ssl.js';
import type { AtCapabilities } from './startup.js';
import { sameTcpOpt, tcpOptParams } from './tcp-options.js';

/** The firmware's link count (AT_SOCKET_MAX_CONN_NUM). */
export const LINKS = 5;

/** What the connection operations need of the driver. */
export interface ConnectionContext {
  readonly table: LinkTable;
  readonly channel: AtChannel;
  readonly options: {
    readonly rxBuffer?: number;
    readonly txBuffer?: number;
    readonly connectTimeoutMs?: number;
    readonly flushTimeoutMs?: number;
  };
  /** The line's speed as known or measured (line-rate.ts). */
  readonly lineRate: LineRate;
  /** Counts boots seen: work started before a reboot checks it and gives up. */
  boot(): number;
  /** What the start-up probe learnt; null while the module is (re)starting. */
  caps(): AtCapabilities | null;
  /** A background failure nobody awaits (the driver emits 'error'). */
  report(err: Error): void;
}

/**
 * A local port for a socket bound to port 0 (ESP-AT needs a number in CIPSERVER and UDP
 * CIPSTART): lwIP's ephemeral range, 49152–65535, from a random start.
 */
function ephemeralPort(): number {
  return 49152 + Math.floor(Math.random() * 16384);
}

/**
 * A data command's deadline: the table's, plus the time `bytes` take on the line at its planned
 * rate (8192 bytes are 0.7 s at 115200 baud but 8.5 s at 9600, the rate planned with until the
 * speed of a socket:// line is measured).
 */
export function dataTimeoutMs(name: 'CIPSEND' | 'CIPRECVDATA', bytes: number, rate: LineRate): number {
  return at.AT_COMMANDS[name].timeoutMs + rate.lineMs(bytes);
}

export class AtConnections implements AtSocketHost {
  readonly rxBuffer: number;
  readonly txBuffer: number;
  /** Every open socket, accepted ones included. */
  readonly sockets = new Set<AtSocket>();
  private nextId = 1;
  /** The listening socket that owns the module's one AT+CIPSERVER. */
  private serverOwner: AtSocket | null = null;
  private readonly udpOpening = new WeakMap<AtSocket, Promise<void>>();
  /** Links switched to active receive (UDP keeps datagram boundaries that way). */
  private readonly activeLinks = new Set<number>();
  /** The boot whose clock is known to be real (SNTP synced), for verified SSL links. */
  private clockBoot = -1;

  constructor(private readonly ctx: ConnectionContext) {
    this.rxBuffer = ctx.options.rxBuffer ?? 16384;
    this.txBuffer = ctx.options.txBuffer ?? 16384;
  }

  /** A new socket of `type`, registered here. */
  create(type: number): AtSocket {
    const s = new AtSocket(this.nextId++, type, this);
    this.sockets.add(s);
    return s;
  }

  /** The module restarted or the link died: fail every socket, forget every connection. */
  failAll(err: OSError): void {
    for (const s of this.sockets) s.fail(err);
    this.ctx.table.resetAll();
    this.serverOwner = null;
  }

  /** After a reboot the module's links are all in passive mode again. */
  rebooted(): void {
    this.activeLinks.clear();
  }

  kick(): void {
    this.ctx.channel.kick();
  }

  private dataTimeoutMs(name: 'CIPSEND' | 'CIPRECVDATA', bytes: number): number {
    return dataTimeoutMs(name, bytes, this.ctx.lineRate);
  }

  private async tryRun(cmd: AtCommand): Promise<boolean> {
    return this.ctx.channel.run(cmd).then(
      () => true,
      () => false,
    );
  }

  /** IPPROTO_SEC: real time first if the server is verified (once per boot), then the link's AT+CIPSSLC* (ssl.ts). */
  private async prepareSsl(sock: AtSocket, id: number): Promise<void> {
    const run = (c: AtCommand) => this.ctx.channel.run(c);
    if (sock.sslConfig.auth >= 2 && this.clockBoot !== this.ctx.boot()) {
      await ensureRealTime(run);
      this.clockBoot = this.ctx.boot();
    }
    await configureSslLink(run, id, sock.sslConfig);
  }

  connectTcp(sock: AtSocket, addr: SockAddr): void {
    const e = this.ctx.table.allocate(sock);
    if (!e) throw osError('ENFILE', `ESP-AT link table full (${LINKS} links)`);
    sock.link = e;
    this.startTcp(sock, e, addr).catch((err: Error) => this.ctx.report(err));
  }

  private async startTcp(sock: AtSocket, e: LinkEntry, [ip, port]: SockAddr): Promise<void> {
    const boot = this.ctx.boot();
    const deviceMs = Math.min(60_000, this.ctx.options.connectTimeoutMs ?? 20_000);
    const kind = sock.tls ? 'SSL' : 'TCP';
    const params: at.ParamInput[] = [e.id, ip.includes(':') ? `${kind}v6` : kind, ip, port];
    if (this.ctx.caps()?.startTimeout) params.push(null, null, deviceMs);
    let err: OSError | null = null;
    let started = 0;
    try {
      const cancelled = () => sock.state === 'closed';
      if (sock.tls) await this.prepareSsl(sock, e.id);
      const context = sock.tls ? 'CIPSTART:SSL' : undefined;
      started = performance.now();
      await this.ctx.channel.run({
        name: 'CIPSTART',
        form: 'set',
        params,
        timeoutMs: deviceMs + 1000,
        cancelled,
        context,
      });
    } catch (e2) {
      err = e2 instanceof OSError ? e2 : new OSError(E.EIO, String(e2));
      const asked = this.ctx.caps()?.startTimeout ? deviceMs : undefined;
      if (started > 0) err = connectTimedOut(err, performance.now() - started, asked) ?? err;
    }
    if (boot !== this.ctx.boot()) return; // the socket already failed with ECONNRESET
    // After a timeout the module may still connect later: close the id rather than reuse it.
    const mayBeUp = !err || err.errno === E.ETIMEDOUT;
    if (sock.state === 'closed' || e.sink !== sock) {
      if (mayBeUp) await this.closeLink(e);
      else this.ctx.table.release(e);
      return;
    }
    if (!err) {
      if (e.phase === 'connecting') e.phase = 'open';
      // Options set before connect (or left on this id by an earlier socket); a failure leaves
      // the connection usable, as a failed setsockopt would.
      await this.applyTcpOptions(sock).catch(() => {});
      if (boot !== this.ctx.boot()) return;
      sock.connectDone(null);
      return;
    }
    sock.link = null;
    if (mayBeUp) void this.closeLink(e);
    else this.ctx.table.release(e);
    sock.connectDone(err);
  }

  /**
   * UDP: AT+CIPSTART=<id>,"UDP",<remote>,<rport>,<lport>,2 — mode 2 takes datagrams from anyone.
   * `remote` null (a bind): `"0.0.0.0",<lport>`, the form lwIP-based hosts use for a UDP
   * listener (esp-at#450); every datagram then names its sender in `+IPD`.
   */
  openUdp(sock: AtSocket, remote: SockAddr | null): Promise<void> {
    const pending = this.udpOpening.get(sock);
    if (pending) return pending;
    const e = this.ctx.table.allocate(sock);
    if (!e) return Promise.reject(osError('ENFILE', `ESP-AT link table full (${LINKS} links)`));
    sock.link = e;
    const p = this.startUdp(sock, e, remote).finally(() => this.udpOpening.delete(sock));
    this.udpOpening.set(sock, p);
    return p;
  }

  private async startUdp(sock: AtSocket, e: LinkEntry, remote: SockAddr | null): Promise<void> {
    if (this.ctx.caps()?.recvCommand === 'CIPRECVTYPE') {
      if (await this.tryRun({ name: 'CIPRECVTYPE', form: 'set', params: [e.id, 0] })) this.activeLinks.add(e.id);
    }
    const localPort = sock.local[1] || ephemeralPort();
    const [ip, port] = remote ?? ['0.0.0.0', localPort];
    const type = ip.includes(':') ? 'UDPv6' : 'UDP';
    try {
      await this.ctx.channel.run({
        name: 'CIPSTART',
        form: 'set',
        params: [e.id, type, ip, port, localPort, 2],
        context: 'CIPSTART:UDP',
      });
    } catch (err) {
      sock.link = null;
      await this.restoreMode(e.id);
      this.ctx.table.release(e);
      throw err;
    }
    if (e.phase === 'connecting') e.phase = 'open';
    sock.local = [sock.local[0], localPort];
    if (sock.state === 'closed') await this.closeLink(e); // closed while the link was opening
  }

  async sendDatagram(sock: AtSocket, data: Uint8Array, addr: SockAddr): Promise<number> {
    const max = this.ctx.caps()?.maxSend ?? 2048;
    if (data.length > max) throw osError('EMSGSIZE', `datagram larger than ${max} bytes (AT+CIPSEND limit)`);
    if (!sock.link) await this.openUdp(sock, addr);
    const e = sock.link;
    if (!e || sock.state === 'closed') throw osError('EBADF');
    if (data.length === 0) return 0; // AT+CIPSEND cannot carry an empty datagram
    await this.ctx.channel.run({
      name: 'CIPSEND',
      form: 'set',
      params: [e.id, data.length, addr[0], addr[1]],
      payload: data,
      timeoutMs: this.dataTimeoutMs('CIPSEND', data.length),
    });
    return data.length;
  }

  /** AT+CIPSERVER=1,<port>. ESP-AT has ONE server: a second listening socket gets EOPNOTSUPP. */
  async listen(sock: AtSocket): Promise<void> {
    if (this.ctx.table.server) throw osError('EOPNOTSUPP', 'ESP-AT allows one listening socket (AT+CIPSERVER)');
    const port = sock.local[1] || ephemeralPort(); // lwIP picks one for an unbound listener too
    const sink = {
      onAccept: (e: LinkEntry, remote: at.Remote | null) => {
        const child = this.create(C.SOCK_STREAM);
        child.state = 'connected';
        child.link = e;
        if (remote) child.remote = [remote.ip, remote.port];
        sock.onAccepted(child);
        return child;
      },
    };
    // The sink is in place before the OK: a client already waiting is reported as `0,CONNECT`
    // right after it, often in the same chunk, before this function resumes.
    const start = () => {
      this.ctx.table.server = sink;
      return this.ctx.channel.run({ name: 'CIPSERVER', form: 'set', params: [1, port] }).catch((err: unknown) => {
        this.ctx.table.server = null;
        throw err;
      });
    };
    try {
      await start();
    } catch {
      // A server left over from an earlier session blocks a new one: stop it and try once more.
      await this.tryRun({ name: 'CIPSERVER', form: 'set', params: [0] });
      await start();
    }
    sock.local = [sock.local[0], port];
    this.serverOwner = sock;
  }

  /** AT+CIPTCPOPT=<id>,<so_linger>,<tcp_nodelay>,<so_sndtimeo>[,<keep_alive>] when the socket's wish differs. */
  async applyTcpOptions(sock: AtSocket): Promise<void> {
    const e = sock.link;
    if (!e || e.sink !== sock || e.phase !== 'open' || sameTcpOpt(e.tcpOpt, sock.tcpOpt)) return;
    const want = sock.tcpOpt;
    await this.ctx.channel.run({ name: 'CIPTCPOPT', form: 'set', params: tcpOptParams(e.id, want, e.tcpOpt) });
    e.tcpOpt = want;
  }

  /** The peer of an accepted link, from `+CIPSTATE:<id>,"TCP","<ip>",<port>,<lport>,1`. */
  async peerOf(sock: AtSocket): Promise<SockAddr> {
    const id = sock.link?.id;
    if (id === undefined) return ['0.0.0.0', 0];
    const reply = await this.ctx.channel.run({ name: 'CIPSTATE', form: 'query' });
    const line = infoLines(reply, '+CIPSTATE').find((l) => l.fields[0] === id);
    const [ip, port] = [line?.fields[2], line?.fields[3]];
    return typeof ip === 'string' && typeof port === 'number' ? [ip, port] : ['0.0.0.0', 0];
  }

  async release(sock: AtSocket, wasListening: boolean): Promise<void> {
    this.sockets.delete(sock);
    if (wasListening) {
      if (this.serverOwner !== sock) return; // failed by a reboot: the module has no server now
      this.serverOwner = null;
      this.ctx.table.server = null;
      await this.tryRun({ name: 'CIPSERVER', form: 'set', params: [0] });
      return;
    }
    const e = sock.link;
    if (!e || e.sink !== sock || e.phase === 'connecting') return; // a running CIPSTART cleans up itself
    const deadline = Date.now() + (this.ctx.options.flushTimeoutMs ?? 5000);
    while (sock.tx.bytes > 0 && e.sink === sock && e.phase === 'open' && Date.now() < deadline) {
      this.kick();
      await sock.wait(deadline);
    }
    if (e.sink === sock) await this.closeLink(e);
  }

  /** AT+CIPCLOSE=<id>; the id is free again afterwards, whatever the module answered. */
  async closeLink(e: LinkEntry): Promise<void> {
    const boot = this.ctx.boot();
    const wasClosed = e.phase === 'closed';
    e.phase = 'closing';
    e.sink = null;
    e.devData = false;
    if (!wasClosed) await this.tryRun({ name: 'CIPCLOSE', form: 'set', params: [e.id] });
    if (boot !== this.ctx.boot()) return;
    await this.restoreMode(e.id);
    this.ctx.table.release(e);
  }

  private async restoreMode(id: number): Promise<void> {
    if (!this.activeLinks.delete(id)) return;
    await this.tryRun({ name: 'CIPRECVTYPE', form: 'set', params: [id, 1] });
  }

  /** A link came up that no socket owns (a stale server's client): close it. */
  closeOrphan(id: number): void {
    const e = this.ctx.table.get(id);
    if (!e) return;
    void this.tryRun({ name: 'CIPCLOSE', form: 'set', params: [id] }).then(() => {
      if (e.phase === 'orphan') this.ctx.table.release(e);
    });
  }
}
