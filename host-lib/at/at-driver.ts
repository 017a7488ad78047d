/**
 * The ESP-AT driver: stock Espressif AT firmware (v2.x–v4.x) as a Driver (driver.ts). One
 * command channel, one link table with one URC reducer, background reads/sends, and reboot
 * detection: `\r\nready\r\n` at any time fails every socket with ECONNRESET ("coprocessor
 * restarted"), emits 'reset' and runs the start-up again.
 *
 * ```ts
 * const drv = await AtDriver.open(link);
 * const s = await drv.socket(AF_INET, SOCK_STREAM, 0);
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { at, constants as C, errno as E } from '../../firmware-protocol/index.js';
import { isIpLiteral } from '../args.js';
import type { AddrInfo, Driver, NetworkModule, SockAddr } from '../driver.js';
import { OSError, osError } from '../errors.js';
import { AtSocket, type AtSocketHost } from './at-socket.js';
import { AtChannel, type AtCommand, infoLines } from './channel.js';
import { DnsCache } from './dns-cache.js';
import { connectTimedOut, EAI_NONAME } from './errno-map.js';
import { IoPicker } from './io.js';
import { applyUrc, type LinkEntry, LinkTable } from './links.js';
import { AtLiveness } from './liveness.js';
import { configureSslLink, ensureRealTime } from './ssl.js';
import { type AtCapabilities, configure, syncAt } from './startup.js';
import { createNetworkModule } from './wlan.js';

export interface AtDriverOptions {
  /**
   * How long start-up keeps sending `AT` until the module answers, ms (default 5000: time for
   * freeing a module an earlier host left inside AT+CIPSEND or passthrough, unwedge.ts).
   */
  probeTimeoutMs?: number;
  /** Receive buffer per socket, bytes (default 16 KiB): reads never fetch more than its free room. */
  rxBuffer?: number;
  /** Send queue per socket, bytes (default 16 KiB): `send()` takes what fits. */
  txBuffer?: number;
  /** Largest AT+CIPRECVDATA request, bytes (default 8192). */
  maxRead?: number;
  /** Line rate, bits/s: deadlines of CIPSEND/CIPRECVDATA grow by the time their bytes take on the wire. */
  baudRate?: number;
  /** Deadline of AT+CIPSTART on the module, ms (default 20000; sent as `<timeout>` on v4.1+). */
  connectTimeoutMs?: number;
  /** How long close() waits for queued bytes to be sent before AT+CIPCLOSE, ms (default 5000). */
  flushTimeoutMs?: number;
  /** `busy p...` resends before a command fails (default 8). */
  busyRetries?: number;
  /** How long a name resolved with AT+CIPDOMAIN is reused, ms (default 30000; 0 = never). */
  dnsCacheMs?: number;
  /** Probe the module after this long without a sensible answer while work is pending, ms (default 750; 0 = never). */
  keepaliveMs?: number;
  /** A probe unanswered this long declares the module lost, ms (default 1500). */
  keepaliveTimeoutMs?: number;
}

/** The firmware's link count (AT_SOCKET_MAX_CONN_NUM). */
const LINKS = 5;

/**
 * A local port for a socket bound to port 0 (ESP-AT needs a number in CIPSERVER and UDP
 * CIPSTART): lwIP's ephemeral range, 49152–65535, from a random start.
 */
function ephemeralPort(): number {
  return 49152 + Math.floor(Math.random() * 16384);
}

export class AtDriver extends EventEmitter implements Driver, AtSocketHost {
  readonly profile = 'esp-at';
  readonly maxSockets = LINKS;
  readonly table = new LinkTable(LINKS);
  readonly channel: AtChannel;
  readonly network: NetworkModule;
  readonly rxBuffer: number;
  readonly txBuffer: number;
  private capabilities: AtCapabilities | null = null;
  private readonly sockets = new Set<AtSocket>();
  /** The listening socket that owns the module's one AT+CIPSERVER. */
  private serverOwner: AtSocket | null = null;
  private readonly udpOpening = new WeakMap<AtSocket, Promise<void>>();
  /** Links switched to active receive (UDP keeps datagram boundaries that way). */
  private readonly activeLinks = new Set<number>();
  private readonly io: IoPicker;
  private readonly dns: DnsCache;
  private nextId = 1;
  /** Counts boots seen; work started before a reboot checks it and gives up. */
  private boot = 0;
  /** The boot whose clock is known to be real (SNTP synced), for verified SSL links. */
  private clockBoot = -1;
  private closed = false;
  /** The module stopped answering: every call fails at once until recover() finds it again. */
  private lost = false;
  /** Why the link closed under us (not by close()); later calls fail with it. */
  private gone = '';
  private liveness?: AtLiveness;
  private readonly detach: () => void;

  private constructor(
    link: Duplex,
    private readonly opts: AtDriverOptions,
  ) {
    super();
    this.rxBuffer = opts.rxBuffer ?? 16384;
    this.txBuffer = opts.txBuffer ?? 16384;
    this.dns = new DnsCache(opts.dnsCacheMs ?? 30_000);
    this.io = new IoPicker(this.table, () => ({
      maxRead: opts.maxRead ?? 8192,
      maxSend: this.capabilities?.maxSend ?? 2048,
      timeoutMs: (name, bytes) => this.dataTimeoutMs(name, bytes),
    }));
    this.channel = new AtChannel(link, {
      onUrc: (m) => this.onUrc(m),
      onStray: (m) => this.emit('stray', m),
      background: () => (this.capabilities ? this.io.next() : undefined),
      busyRetries: opts.busyRetries,
    });
    this.network = createNetworkModule(this.channel, this.table);
    const onData = (chunk: Uint8Array) => this.channel.feed(chunk);
    const onGone = (err?: Error) => this.linkGone(err?.message ?? 'the link to the coprocessor closed');
    link.on('data', onData);
    link.on('error', onGone);
    link.on('close', onGone);
    this.detach = () => {
      link.off('data', onData);
      link.off('error', onGone);
      link.off('close', onGone);
    };
  }

  /** Probes the module and sets it up; rejects with OSError(ETIMEDOUT) if nothing answers `AT`. */
  static async open(link: Duplex, opts: AtDriverOptions = {}): Promise<AtDriver> {
    const drv = new AtDriver(link, opts);
    try {
      await drv.startUp();
      drv.startLiveness();
      return drv;
    } catch (err) {
      drv.channel.close('start-up failed');
      drv.detach();
      throw err;
    }
  }

  /** What the start-up probe learnt (version, command spellings, limits). */
  get caps(): AtCapabilities {
    if (!this.capabilities) throw new Error('the ESP-AT driver is not started');
    return this.capabilities;
  }

  /** Unknown lines and events nobody owned, for diagnostics. */
  get badFrames(): number {
    return this.table.ignored;
  }

  /** `AT` until answered, then configure; a `ready` after the first answer starts it over. */
  private async startUp(): Promise<void> {
    this.channel.hold(true);
    for (let attempt = 0; ; attempt++) {
      await syncAt(this.channel, this.opts.probeTimeoutMs ?? 5000, this.opts.baudRate);
      const boot = this.boot;
      try {
        const caps = await configure(this.channel);
        if (boot !== this.boot) continue; // rebooted while configuring
        this.capabilities = caps;
        this.channel.hold(false);
        return;
      } catch (err) {
        if (boot === this.boot || attempt >= 3 || this.closed) throw err;
      }
    }
  }

  kick(): void {
    this.channel.kick();
  }

  private startLiveness(): void {
    const baud = this.opts.baudRate ?? 115200;
    this.liveness = new AtLiveness(
      this.channel,
      {
        active: () => this.capabilities !== null && !this.lost && (this.sockets.size > 0 || !this.channel.isIdle),
        onLost: (errno, why) => this.onLost(errno, why),
        onRestarted: () => this.onReboot('set-up gone (+CIPMUX:0): it restarted unseen'),
        slack: () => Math.ceil(((this.capabilities?.maxSend ?? 2048) * 10 * 1000) / baud),
      },
      { idleMs: this.opts.keepaliveMs, answerMs: this.opts.keepaliveTimeoutMs },
    );
  }

  /**
   * The module stopped answering (or the line fell out of step): every socket and command fails
   * with `errno`, every later call fails at once, 'hang' is emitted, and start-up is retried in
   * the background (backing off up to 2 s) until the module answers again.
   */
  private onLost(errno: number, why: string): void {
    if (this.closed || this.lost) return;
    this.lost = true;
    this.boot++;
    this.capabilities = null;
    this.channel.hold(true);
    this.channel.suspend({ kind: 'lost', errno, detail: why });
    this.failSockets(new OSError(errno, why));
    this.activeLinks.clear();
    this.dns.clear();
    this.emit('hang', { reason: why });
    void this.recover();
  }

  private async recover(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(2000, delay * 2)) {
      try {
        await this.startUp();
        this.lost = false;
        this.channel.suspend(null);
        this.liveness?.reset();
        this.emit('ready', { profile: this.profile });
        return;
      } catch {
        if (this.channel.isClosed) return;
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }

  /**
   * A data command's deadline: the table's, plus the time `bytes` take on the line at 10 bits
   * per byte (8192 bytes are 0.7 s at 115200 baud but 8.5 s at 9600).
   */
  dataTimeoutMs(name: 'CIPSEND' | 'CIPRECVDATA', bytes: number): number {
    const base = at.AT_COMMANDS[name].timeoutMs;
    return base + Math.ceil((bytes * 10 * 1000) / (this.opts.baudRate ?? 115200));
  }

  private onUrc(m: at.AtMessage): void {
    if (m.type === 'overflow' && m.what === 'data') {
      // A length no reply of ours can have: the parser would skip that many bytes, answers included.
      this.onLost(E.EIO, `the coprocessor announced ${m.length} bytes of data (limit ${m.limit}): line out of step`);
      return;
    }
    const effect = applyUrc(this.table, m);
    if (m.type === 'unknown' || m.type === 'overflow') this.emit('stray', m);
    if (effect === 'io') this.channel.kick();
    else if (effect === 'reboot') this.onReboot();
    else if (typeof effect === 'object') this.closeOrphan(effect.closeLink);
  }

  /** `ready`: the module restarted; every socket and command fails, then start-up runs again. */
  private onReboot(reason = 'ready'): void {
    this.boot++;
    const started = this.capabilities !== null;
    this.capabilities = null;
    this.channel.hold(true);
    this.channel.failAll({ kind: 'reset' });
    this.failSockets(new OSError(E.ECONNRESET, 'coprocessor restarted'));
    this.activeLinks.clear();
    this.dns.clear();
    if (!started) return; // already starting: the failed command makes start-up begin again
    this.emit('reset', { reason });
    this.startUp().catch((err: Error) => {
      // Without a working module every queued and later command must fail, not wait.
      this.linkGone(`the coprocessor did not come back after restarting: ${err.message}`);
      this.emit('error', err);
    });
  }

  private failSockets(err: OSError): void {
    for (const s of this.sockets) s.fail(err);
    this.table.resetAll();
    this.serverOwner = null;
  }

  private linkGone(detail: string): void {
    if (this.closed) return;
    this.closed = true;
    this.gone = detail;
    this.liveness?.stop();
    this.channel.close(detail);
    this.failSockets(new OSError(E.ECONNRESET, `link closed: ${detail}`));
  }

  private run(cmd: AtCommand) {
    return this.channel.run(cmd);
  }

  private async tryRun(cmd: AtCommand): Promise<boolean> {
    return this.run(cmd).then(
      () => true,
      () => false,
    );
  }

  // ---- Driver ----
  /** Once the link is closed or the module lost, every call fails at once (ARCHITECTURE §9). */
  private checkUsable(): void {
    if (this.gone) throw new OSError(E.EIO, this.gone);
    if (this.closed) throw osError('EBADF', 'device closed');
    if (this.lost) throw new OSError(E.ETIMEDOUT, 'coprocessor not responding (link lost)');
  }

  async socket(family: number, type: number, proto: number): Promise<AtSocket> {
    this.checkUsable();
    if (family !== C.AF_INET && family !== C.AF_INET6) throw osError('EAFNOSUPPORT');
    if (type !== C.SOCK_STREAM && type !== C.SOCK_DGRAM) throw osError('EPROTONOSUPPORT', `socket type ${type}`);
    if (proto === C.IPPROTO_SEC && type !== C.SOCK_STREAM)
      throw osError('EPROTONOSUPPORT', 'IPPROTO_SEC needs SOCK_STREAM');
    const s = new AtSocket(this.nextId++, type, this);
    if (proto === C.IPPROTO_SEC) s.tls = true;
    this.sockets.add(s);
    return s;
  }

  /** AT+UART_CUR=<baudrate>,<databits>,<stopbits>,<parity>,<flow control>; the reply comes at the old speed. */
  async setLineSpeed(baudRate: number): Promise<void> {
    await this.channel.run({ name: 'UART_CUR', form: 'set', params: [baudRate, 8, 1, 0, 0] });
  }

  /** AT+CIPDOMAIN (or the DNS cache); an IP literal is answered locally. Unknown name → OSError(-2). */
  async getaddrinfo(host: string, port: number, _family = 0, type = 0, proto = 0): Promise<AddrInfo[]> {
    this.checkUsable();
    const ip = isIpLiteral(host) ? host : (this.dns.get(host) ?? (await this.lookup(host)));
    const family = ip.includes(':') ? C.AF_INET6 : C.AF_INET;
    const t = type || C.SOCK_STREAM;
    const p = proto || (t === C.SOCK_DGRAM ? C.IPPROTO_UDP : C.IPPROTO_TCP);
    return [{ family, type: t, proto: p, canonname: '', addr: [ip, port] }];
  }

  private async lookup(host: string): Promise<string> {
    const reply = await this.run({ name: 'CIPDOMAIN', form: 'set', params: [host] });
    const field = infoLines(reply, '+CIPDOMAIN')[0]?.fields[0];
    if (typeof field !== 'string' || !isIpLiteral(field)) throw new OSError(EAI_NONAME, `name not known: ${host}`);
    this.dns.set(host, field);
    return field;
  }

  /** Closes every socket (bounded), then stops listening to the link. */
  async close(): Promise<void> {
    if (!this.closed) {
      const all = Promise.all([...this.sockets].map((s) => s.close().catch(() => {})));
      await Promise.race([all, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.closed = true;
    this.liveness?.stop();
    this.channel.close('device closed');
    this.detach();
  }

  // ---- AtSocketHost: what sockets ask of the driver ----
  /** IPPROTO_SEC: real time first if the server is verified (once per boot), then the link's AT+CIPSSLC* (ssl.ts). */
  private async prepareSsl(sock: AtSocket, id: number): Promise<void> {
    const run = (c: AtCommand) => this.run(c);
    if (sock.sslConfig.auth >= 2 && this.clockBoot !== this.boot) {
      await ensureRealTime(run);
      this.clockBoot = this.boot;
    }
    await configureSslLink(run, id, sock.sslConfig);
  }

  connectTcp(sock: AtSocket, addr: SockAddr): void {
    const e = this.table.allocate(sock);
    if (!e) throw osError('ENFILE', `ESP-AT link table full (${LINKS} links)`);
    sock.link = e;
    this.startTcp(sock, e, addr).catch((err: Error) => this.emit('error', err));
  }

  private async startTcp(sock: AtSocket, e: LinkEntry, [ip, port]: SockAddr): Promise<void> {
    const boot = this.boot;
    const deviceMs = Math.min(60_000, this.opts.connectTimeoutMs ?? 20_000);
    const kind = sock.tls ? 'SSL' : 'TCP';
    const params: at.ParamInput[] = [e.id, ip.includes(':') ? `${kind}v6` : kind, ip, port];
    if (this.capabilities?.startTimeout) params.push(null, null, deviceMs);
    let err: OSError | null = null;
    let started = 0;
    try {
      const cancelled = () => sock.state === 'closed';
      if (sock.tls) await this.prepareSsl(sock, e.id);
      const context = sock.tls ? 'CIPSTART:SSL' : undefined;
      started = performance.now();
      await this.run({ name: 'CIPSTART', form: 'set', params, timeoutMs: deviceMs + 1000, cancelled, context });
    } catch (e2) {
      err = e2 instanceof OSError ? e2 : new OSError(E.EIO, String(e2));
      const asked = this.capabilities?.startTimeout ? deviceMs : undefined;
      if (started > 0) err = connectTimedOut(err, performance.now() - started, asked) ?? err;
    }
    if (boot !== this.boot) return; // the socket already failed with ECONNRESET
    // After a timeout the module may still connect later: close the id rather than reuse it.
    const mayBeUp = !err || err.errno === E.ETIMEDOUT;
    if (sock.state === 'closed' || e.sink !== sock) {
      if (mayBeUp) await this.closeLink(e);
      else this.table.release(e);
      return;
    }
    if (!err) {
      if (e.phase === 'connecting') e.phase = 'open';
      sock.connectDone(null);
      return;
    }
    sock.link = null;
    if (mayBeUp) void this.closeLink(e);
    else this.table.release(e);
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
    const e = this.table.allocate(sock);
    if (!e) return Promise.reject(osError('ENFILE', `ESP-AT link table full (${LINKS} links)`));
    sock.link = e;
    const p = this.startUdp(sock, e, remote).finally(() => this.udpOpening.delete(sock));
    this.udpOpening.set(sock, p);
    return p;
  }

  private async startUdp(sock: AtSocket, e: LinkEntry, remote: SockAddr | null): Promise<void> {
    if (this.capabilities?.recvCommand === 'CIPRECVTYPE') {
      if (await this.tryRun({ name: 'CIPRECVTYPE', form: 'set', params: [e.id, 0] })) this.activeLinks.add(e.id);
    }
    const localPort = sock.local[1] || ephemeralPort();
    const [ip, port] = remote ?? ['0.0.0.0', localPort];
    const type = ip.includes(':') ? 'UDPv6' : 'UDP';
    try {
      await this.run({
        name: 'CIPSTART',
        form: 'set',
        params: [e.id, type, ip, port, localPort, 2],
        context: 'CIPSTART:UDP',
      });
    } catch (err) {
      sock.link = null;
      await this.restoreMode(e.id);
      this.table.release(e);
      throw err;
    }
    if (e.phase === 'connecting') e.phase = 'open';
    sock.local = [sock.local[0], localPort];
    if (sock.state === 'closed') await this.closeLink(e); // closed while the link was opening
  }

  async sendDatagram(sock: AtSocket, data: Uint8Array, addr: SockAddr): Promise<number> {
    const max = this.capabilities?.maxSend ?? 2048;
    if (data.length > max) throw osError('EMSGSIZE', `datagram larger than ${max} bytes (AT+CIPSEND limit)`);
    if (!sock.link) await this.openUdp(sock, addr);
    const e = sock.link;
    if (!e || sock.state === 'closed') throw osError('EBADF');
    if (data.length === 0) return 0; // AT+CIPSEND cannot carry an empty datagram
    await this.run({
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
    if (this.table.server) throw osError('EOPNOTSUPP', 'ESP-AT allows one listening socket (AT+CIPSERVER)');
    const port = sock.local[1] || ephemeralPort(); // lwIP picks one for an unbound listener too
    const sink = {
      onAccept: (e: LinkEntry, remote: at.Remote | null) => {
        const child = new AtSocket(this.nextId++, C.SOCK_STREAM, this);
        child.state = 'connected';
        child.link = e;
        if (remote) child.remote = [remote.ip, remote.port];
        this.sockets.add(child);
        sock.onAccepted(child);
        return child;
      },
    };
    // The sink is in place before the OK: a client already waiting is reported as `0,CONNECT`
    // right after it, often in the same chunk, before this function resumes.
    const start = () => {
      this.table.server = sink;
      return this.run({ name: 'CIPSERVER', form: 'set', params: [1, port] }).catch((err: unknown) => {
        this.table.server = null;
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

  /** The peer of an accepted link, from `+CIPSTATE:<id>,"TCP","<ip>",<port>,<lport>,1`. */
  async peerOf(sock: AtSocket): Promise<SockAddr> {
    const id = sock.link?.id;
    if (id === undefined) return ['0.0.0.0', 0];
    const reply = await this.run({ name: 'CIPSTATE', form: 'query' });
    const line = infoLines(reply, '+CIPSTATE').find((l) => l.fields[0] === id);
    const [ip, port] = [line?.fields[2], line?.fields[3]];
    return typeof ip === 'string' && typeof port === 'number' ? [ip, port] : ['0.0.0.0', 0];
  }

  async release(sock: AtSocket, wasListening: boolean): Promise<void> {
    this.sockets.delete(sock);
    if (wasListening) {
      if (this.serverOwner !== sock) return; // failed by a reboot: the module has no server now
      this.serverOwner = null;
      this.table.server = null;
      await this.tryRun({ name: 'CIPSERVER', form: 'set', params: [0] });
      return;
    }
    const e = sock.link;
    if (!e || e.sink !== sock || e.phase === 'connecting') return; // a running CIPSTART cleans up itself
    const deadline = Date.now() + (this.opts.flushTimeoutMs ?? 5000);
    while (sock.tx.bytes > 0 && e.sink === sock && e.phase === 'open' && Date.now() < deadline) {
      this.channel.kick();
      await sock.wait(deadline);
    }
    if (e.sink === sock) await this.closeLink(e);
  }

  /** AT+CIPCLOSE=<id>; the id is free again afterwards, whatever the module answered. */
  private async closeLink(e: LinkEntry): Promise<void> {
    const boot = this.boot;
    const wasClosed = e.phase === 'closed';
    e.phase = 'closing';
    e.sink = null;
    e.devData = false;
    if (!wasClosed) await this.tryRun({ name: 'CIPCLOSE', form: 'set', params: [e.id] });
    if (boot !== this.boot) return;
    await this.restoreMode(e.id);
    this.table.release(e);
  }

  private async restoreMode(id: number): Promise<void> {
    if (!this.activeLinks.delete(id)) return;
    await this.tryRun({ name: 'CIPRECVTYPE', form: 'set', params: [id, 1] });
  }

  /** A link came up that no socket owns (a stale server's client): close it. */
  private closeOrphan(id: number): void {
    const e = this.table.get(id);
    if (!e) return;
    void this.tryRun({ name: 'CIPCLOSE', form: 'set', params: [id] }).then(() => {
      if (e.phase === 'orphan') this.table.release(e);
    });
  }
}
