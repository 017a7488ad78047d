/**
 * The ESP-AT driver: stock Espressif AT firmware (v2.x–v4.x) as a Driver (driver.ts). One
 * command channel, one connection (link id) table with one URC reducer, background reads/sends, and reboot
 * detection: `\r\nready\r\n` at any time fails every socket with ECONNRESET ("coprocessor
 * restarted"), emits 'reset' and runs the start-up again.
 *
 * ```ts
 * const drv = await AtDriver.open(transport);
 * const s = await drv.socket(AF_INET, SOCK_STREAM, 0);
 * ```
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type at, constants as C, errno as E, LineRate } from '../../firmware-protocol/index.js';
import { isIpLiteral } from '../args.js';
import type { AddrInfo, Driver, NetworkModule } from '../driver.js';
import { OSError, osError } from '../errors.js';
import type { AtSocket } from './at-socket.js';
import { AtChannel, type AtCommand, infoLines } from './channel.js';
import { AtConnections, dataTimeoutMs, LINKS } from './connections.js';
import { DnsCache } from './dns-cache.js';
import { EAI_NONAME } from './errno-map.js';
import { IoPicker } from './io.js';
import { sendSize } from './line-rate.js';
import { applyUrc, LinkTable } from './links.js';
import { AtLiveness } from './liveness.js';
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
  /** Probe the module after this long without a sensible answer while work is pending, ms (default 500; 0 = never). */
  keepaliveMs?: number;
  /** A probe unanswered this long declares the module lost, ms (default 1500). */
  keepaliveTimeoutMs?: number;
}

export class AtDriver extends EventEmitter implements Driver {
  readonly profile = 'esp-at';
  readonly maxSockets = LINKS;
  readonly table = new LinkTable(LINKS);
  readonly channel: AtChannel;
  readonly network: NetworkModule;
  /** The sockets and their connections (link ids). */
  readonly connections: AtConnections;
  private capabilities: AtCapabilities | null = null;
  private readonly io: IoPicker;
  private readonly dns: DnsCache;
  /** Counts boots seen; work started before a reboot checks it and gives up. */
  private boot = 0;
  private closed = false;
  /** The module stopped answering: every call fails at once until recover() finds it again. */
  private lost = false;
  /** Why the link closed under us (not by close()); later calls fail with it. */
  private gone = '';
  private liveness?: AtLiveness;
  /** The line's speed, for CIPSEND sizes, data deadlines and the silence a payload may take. */
  private readonly lineRate: LineRate;
  private readonly detach: () => void;

  private constructor(
    transport: Duplex,
    private readonly opts: AtDriverOptions,
  ) {
    super();
    this.lineRate = new LineRate(opts.baudRate);
    this.dns = new DnsCache(opts.dnsCacheMs ?? 30_000);
    this.io = new IoPicker(this.table, () => ({
      maxRead: opts.maxRead ?? 8192,
      maxSend: sendSize(this.lineRate, this.capabilities?.maxSend ?? 2048),
      timeoutMs: (name, bytes) => this.dataTimeoutMs(name, bytes),
    }));
    this.channel = new AtChannel(transport, {
      onUrc: (m) => this.onUrc(m),
      onStray: (m) => this.emit('stray', m),
      background: () => (this.capabilities ? this.io.next() : undefined),
      busyRetries: opts.busyRetries,
      onDelivered: (bytes, ms) => this.lineRate.delivered(bytes, ms),
    });
    this.connections = new AtConnections({
      table: this.table,
      channel: this.channel,
      options: opts,
      boot: () => this.boot,
      caps: () => this.capabilities,
      lineRate: this.lineRate,
      report: (err) => this.emit('error', err),
    });
    this.network = createNetworkModule(this.channel, this.table);
    const onData = (chunk: Uint8Array) => this.channel.feed(chunk);
    const onGone = (err?: Error) => this.transportGone(err?.message ?? 'the link to the coprocessor closed');
    transport.on('data', onData);
    transport.on('error', onGone);
    transport.on('close', onGone);
    this.detach = () => {
      transport.off('data', onData);
      transport.off('error', onGone);
      transport.off('close', onGone);
    };
  }

  /** Probes the module and sets it up; rejects with OSError(ETIMEDOUT) if nothing answers `AT`. */
  static async open(transport: Duplex, opts: AtDriverOptions = {}): Promise<AtDriver> {
    const drv = new AtDriver(transport, opts);
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
    this.liveness = new AtLiveness(
      this.channel,
      {
        active: () =>
          this.capabilities !== null && !this.lost && (this.connections.sockets.size > 0 || !this.channel.isIdle),
        onLost: (errno, why) => this.onLost(errno, why),
        onRestarted: () => this.onReboot('set-up gone (+CIPMUX:0): it restarted unseen'),
        slack: () => this.lineRate.lineMs(this.channel.payloadInFlight),
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
    this.connections.rebooted();
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

  /** A data command's deadline at this line rate (connections.ts). */
  dataTimeoutMs(name: 'CIPSEND' | 'CIPRECVDATA', bytes: number): number {
    return dataTimeoutMs(name, bytes, this.lineRate);
  }

  get rxBuffer(): number {
    return this.connections.rxBuffer;
  }
  get txBuffer(): number {
    return this.connections.txBuffer;
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
    else if (typeof effect === 'object') this.connections.closeOrphan(effect.closeLink);
  }

  /** `ready`: the module restarted; every socket and command fails, then start-up runs again. */
  private onReboot(reason = 'ready'): void {
    this.boot++;
    const started = this.capabilities !== null;
    this.capabilities = null;
    this.channel.hold(true);
    this.channel.failAll({ kind: 'reset' });
    this.failSockets(new OSError(E.ECONNRESET, 'coprocessor restarted'));
    this.connections.rebooted();
    this.dns.clear();
    if (!started) return; // already starting: the failed command makes start-up begin again
    this.emit('reset', { reason });
    this.startUp().catch((err: Error) => {
      // Without a working module every queued and later command must fail, not wait.
      this.transportGone(`the coprocessor did not come back after restarting: ${err.message}`);
      this.emit('error', err);
    });
  }

  private failSockets(err: OSError): void {
    this.connections.failAll(err);
  }

  private transportGone(detail: string): void {
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
    const s = this.connections.create(type);
    if (proto === C.IPPROTO_SEC) s.tls = true;
    return s;
  }

  /** AT+UART_CUR=<baudrate>,<databits>,<stopbits>,<parity>,<flow control>; the reply comes at the old speed. */
  async setLineSpeed(baudRate: number): Promise<void> {
    await this.channel.run({ name: 'UART_CUR', form: 'set', params: [baudRate, 8, 1, 0, 0] });
    this.lineRate.setBaud(baudRate);
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

  /** Closes every socket (bounded), then stops listening to the transport. */
  async close(): Promise<void> {
    if (!this.closed) {
      const all = Promise.all([...this.connections.sockets].map((s) => s.close().catch(() => {})));
      await Promise.race([all, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.closed = true;
    this.liveness?.stop();
    this.channel.close('device closed');
    this.detach();
  }
}
