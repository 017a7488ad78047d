/**
 * The ESP-AT firmware personality: a Duplex that IS the board's AT UART. Host bytes written into
 * it go through the shared AtCommandParser; each command runs against the SocketTable and the
 * virtual network via the handler table; replies and URCs are pushed out byte-exact
 * (esp-at.md §1, §8).
 *
 * One command at a time, as on the real firmware: a line that arrives while a command runs —
 * including a second line in the same write, which on a real UART arrives while the first is
 * being answered — gets `\r\nbusy p...\r\n` and is dropped. Received data respects the reader:
 * when push() says no, it waits in the sockets (their bounded buffers stall the peers) until
 * _read() asks again; nothing is ever dropped.
 *
 * @example
 * const at = new AtPersonality({ profile: getProfile('esp-at'), network, random: makeRandom() });
 * at.on('data', (b) => process.stdout.write(b));  // \r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n
 * at.write('AT+GMR\r\n');
 */
import { Duplex } from 'node:stream';
import { type AtCommandEvent, AtCommandParser, type AtMessage, errCode } from '../../firmware-protocol/at/index.js';
import type { ErrnoName } from '../../firmware-protocol/index.js';
import { SocketTable } from '../core/socket-table.js';
import type { TlsFileSource } from '../core/tls.js';
import type { SocketNotify } from '../core/types.js';
import type { HostsTable, NetInterface } from '../network/index.js';
import type { Random } from '../random.js';
import { BootScope } from './boot-scope.js';
import { ConnectWaits } from './connect-waits.js';
import {
  type AtDevice,
  AtFail,
  type AtTiming,
  type Outcome,
  type PayloadHandler,
  type ServerState,
  Superseded,
  type WifiStatus,
} from './context.js';
import { handlerFor } from './handlers.js';
import { type Link, LinkTable } from './link-table.js';
import { type PassthroughHost, PassthroughSession } from './passthrough.js';
import { type AtPersonalityOptions, DEFAULT_TIMING } from './personality-options.js';
import { AtQuirkPlayer } from './quirks.js';
import { deliver } from './receive.js';
import { acceptPending, closeIdle } from './server.js';
import { Settings, type UartConfig } from './settings.js';
import { DEFAULT_AT_VERSION, type VersionTraits, versionTraits } from './versions.js';

export type { AtPersonalityOptions } from './personality-options.js';

import { autoJoin } from './wifi.js';

const EPHEMERAL_FIRST = 49152;
const BUSY_CODE = errCode('busy');

/** What `connect` reported before anyone waited for it. */

export class AtPersonality extends Duplex implements AtDevice, SocketNotify, PassthroughHost {
  readonly traits: VersionTraits;
  readonly settings: Settings;
  readonly links = new LinkTable();
  readonly table: SocketTable;
  readonly network: NetInterface;
  readonly hosts: HostsTable;
  readonly random: Random;
  readonly timing: AtTiming;
  readonly wifi: WifiStatus = { joined: null, wasJoined: false };
  server: ServerState | null = null;
  readonly quirks: AtQuirkPlayer;
  private parser = new AtCommandParser({ mux: 0 });
  private inbox: AtCommandEvent[] = [];
  private draining = false;
  /** A command is in progress: lines get `busy p...`. */
  private executing = false;
  /** A line of the current host write was already taken. */
  private lineTaken = false;
  private payload: { length: number; escaped: boolean; onData: PayloadHandler } | null = null;
  private payloadSink: PayloadHandler | null = null;
  private passthrough: PassthroughSession | null = null;
  private blocked = false;
  private readonly scope = new BootScope();
  private bootedAt = Date.now();
  private nextPort: number;
  private readonly connects = new ConnectWaits(this.scope);
  private readonly idleTimer: NodeJS.Timeout;
  /** Inside our own push(): an in-process host may answer before the command that wrote has finished. */
  private pushing = 0;

  constructor(private readonly opts: AtPersonalityOptions) {
    super({ readableHighWaterMark: 64 * 1024, writableHighWaterMark: 16 * 1024 });
    this.traits = versionTraits(opts.version ?? DEFAULT_AT_VERSION);
    this.network = opts.network;
    this.hosts = opts.hosts;
    this.random = opts.random;
    // Without a <timeout> in AT+CIPSTART, lwIP decides: the profile's connect timeout.
    this.timing = { ...DEFAULT_TIMING, connectTimeoutMs: opts.profile.connectTimeoutMs, ...opts.timing };
    this.settings = new Settings(opts.hosts);
    this.quirks = new AtQuirkPlayer(opts.quirks, opts.random, {
      write: (b) => this.emitBytes(b),
      settings: this.settings,
    });
    // One table slot more than links: a listening server socket is not a link.
    this.table = new SocketTable({ ...opts.profile, maxSockets: opts.profile.maxSockets + 1 }, opts.network, this);
    this.nextPort = EPHEMERAL_FIRST + Math.floor(opts.random.next() * 4096);
    this.idleTimer = setInterval(() => closeIdle(this), 1000).unref();
    this.boot();
  }

  /** The line settings in effect (AT+UART_CUR), so a transport can pace itself. */
  get uartConfig(): UartConfig {
    return this.settings.live.uartCur;
  }

  get outputBlocked(): boolean {
    return this.blocked;
  }

  get files(): TlsFileSource | undefined {
    return this.opts.files;
  }

  get uptimeMs(): number {
    return Date.now() - this.bootedAt;
  }

  /** Power-cycles the board: links and sockets gone, RAM settings from NVS, `\r\nready\r\n` again. */
  reboot(): void {
    this.shutdown();
    this.links.clear();
    this.server = null;
    this.wifi.joined = null;
    this.wifi.wasJoined = false;
    this.parser = new AtCommandParser({ mux: 0 });
    this.inbox = [];
    this.executing = false;
    this.payload = null;
    this.payloadSink = null;
    this.boot();
  }

  private boot(): void {
    this.settings.boot();
    this.bootedAt = Date.now();
    this.say({ type: 'ready' });
    autoJoin(this);
  }

  /** Cancels everything in flight: a later completion of the old boot does nothing. */
  private shutdown(): void {
    this.scope.end();
    this.connects.clear();
    this.passthrough?.abandon();
    this.passthrough = null;
    this.table.closeAll();
  }

  // ---- the UART ----

  override _write(chunk: Uint8Array, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.passthrough) {
      this.passthrough.input(chunk, () => done());
      return;
    }
    this.lineTaken = false;
    this.inbox.push(...this.parser.feed(chunk));
    // Written from inside our push() (in-process host), or while a command that already said
    // its result (`SEND OK`) is still settling: on a wire that reply would have taken time to
    // arrive, so the new line runs after it instead of meeting a `busy p...`.
    if (this.pushing > 0 || this.executing) {
      setImmediate(() => {
        if (!this.destroyed) this.drain();
      });
    } else this.drain();
    done();
  }

  override _read(): void {
    if (!this.blocked) return;
    this.blocked = false;
    for (const link of this.links.all()) this.pump(link);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearInterval(this.idleTimer);
    this.quirks.close();
    this.shutdown();
    cb(err);
  }

  say(...messages: AtMessage[]): void {
    this.quirks.say(messages);
  }

  info(prefix: string, raw: string): void {
    this.say({ type: 'info', prefix, fields: [], raw });
  }

  pushRaw(data: Uint8Array): void {
    this.quirks.raw(data);
  }

  private emitBytes(data: Uint8Array): void {
    if (this.destroyed || data.length === 0) return;
    this.pushing++;
    try {
      if (!this.push(data)) this.blocked = true;
    } finally {
      this.pushing--;
    }
  }

  // ---- commands ----

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let e = this.inbox.shift(); e; e = this.inbox.shift()) this.takeEvent(e);
    } finally {
      this.draining = false;
    }
  }

  private takeEvent(e: AtCommandEvent): void {
    if (e.kind === 'data') {
      this.onPayload(e.bytes);
    } else if (this.executing || this.lineTaken) {
      this.busy();
      // A dropped AT+CIPSEND must not leave the parser holding input for a prompt that never comes.
      if (e.kind === 'command' && e.prompt && this.parser.state === 'held') this.inbox.push(...this.parser.resume());
    } else {
      this.lineTaken = true;
      if (this.settings.live.echo || this.quirks.echoes()) this.pushRaw(e.raw);
      this.quirks.commandTaken();
      if (e.kind === 'bad') this.failWith(new AtFail(e.errCode, e.message));
      else this.run(e);
    }
  }

  private busy(): void {
    if (this.settings.live.syslog) this.say({ type: 'err-code', code: BUSY_CODE });
    this.say({ type: 'busy', what: 'p' });
  }

  private run(e: Extract<AtCommandEvent, { kind: 'command' }>): void {
    const handler = handlerFor(this.traits, e.name, e.form);
    if (!handler) {
      this.failWith(new AtFail(errCode('unsupported'), `AT+${e.name} is not in ESP-AT v${this.traits.version}`));
      if (e.prompt) this.inbox.push(...this.parser.resume());
      return;
    }
    this.executing = true;
    const gen = this.scope.generation;
    const cmd = { name: e.name, form: e.form, params: e.params, args: e.args };
    let result: ReturnType<typeof handler>;
    try {
      result = handler(this, cmd);
    } catch (err) {
      this.settle(gen, e.prompt, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (o) => this.settle(gen, e.prompt, undefined, o === 'done' ? 'done' : undefined),
        (err) => this.settle(gen, e.prompt, err),
      );
    } else {
      this.settle(gen, e.prompt, undefined, result === 'done' ? 'done' : undefined);
    }
  }

  /** A command finished: write its ending and decide what the held input becomes. */
  private settle(gen: number, prompted: boolean, err?: unknown, outcome?: Outcome): void {
    if (!this.scope.current(gen) || err instanceof Superseded) return;
    if (err !== undefined) this.failWith(err);
    else if (outcome !== 'done') this.say({ type: 'ok' });
    const payload = this.payload;
    this.payload = null;
    if (payload) {
      this.payloadSink = payload.onData;
      this.inbox.push(...this.parser.expectData(payload.length, { escaped: payload.escaped }));
    } else {
      // A refused prompt leaves the parser holding input; passthrough already took it.
      if (prompted && this.parser.state === 'held') this.inbox.push(...this.parser.resume());
      this.executing = false;
    }
    this.drain();
  }

  private onPayload(data: Uint8Array): void {
    const sink = this.payloadSink;
    this.payloadSink = null;
    if (!sink) return;
    const gen = this.scope.generation;
    const finish = (err?: unknown) => {
      if (!this.scope.current(gen) || err instanceof Superseded) return;
      if (err !== undefined) this.say({ type: 'send-fail' });
      this.executing = false;
    };
    try {
      Promise.resolve(sink(data)).then(() => finish(), finish);
    } catch (err) {
      finish(err);
    }
  }

  private failWith(err: unknown): void {
    const f =
      err instanceof AtFail ? err : new AtFail(errCode('execFailed'), err instanceof Error ? err.message : String(err));
    this.opts.onCommandError?.(f.message);
    this.say(...f.before);
    if (this.settings.live.syslog) this.say({ type: 'err-code', code: f.code });
    this.say({ type: 'error' }, ...f.after);
  }

  // ---- AtDevice ----

  label(link: Link | number): number | null {
    if (this.settings.live.mux === 0) return null;
    return typeof link === 'number' ? link : link.id;
  }

  setMux(mode: 0 | 1): void {
    this.settings.live.mux = mode;
    this.parser.mux = mode;
  }

  expectPayload(length: number, escaped: boolean, onData: PayloadHandler): void {
    this.payload = { length, escaped, onData };
  }

  enterPassthrough(link: Link): void {
    this.passthrough = new PassthroughSession(this, link);
    const typedAhead = this.parser.takeBuffered();
    if (typedAhead.length > 0) this.passthrough.input(typedAhead, () => undefined);
  }

  leavePassthrough(): void {
    const link = this.passthrough?.link;
    this.passthrough = null;
    if (this.settings.live.sysmsg & 1) this.info('+QUITT', '');
    if (link) this.pump(link); // what arrives now is +IPD again
  }

  pump(link: Link): void {
    if (this.passthrough?.link === link) this.passthrough.deliver();
    else deliver(this, link);
  }

  closeLink(link: Link, announce: boolean): void {
    if (this.links.get(link.id) !== link) return;
    this.links.remove(link);
    this.connects.forget(link.sock);
    if (this.table.find(link.sock)) this.table.close(link.sock);
    const quiet = this.passthrough?.link === link;
    if (quiet) this.passthrough?.linkGone();
    // In passthrough CLOSED is shown only with AT+SYSMSG bit2.
    if (announce && (!quiet || (this.settings.live.sysmsg & 4) !== 0)) {
      this.say({ type: 'closed', link: this.label(link) });
    }
  }

  waitConnected(sock: number, timeoutMs: number): Promise<void> {
    return this.connects.wait(sock, timeoutMs);
  }

  sleep(ms: number): Promise<void> {
    return this.scope.sleep(ms);
  }

  guard<T>(p: Promise<T>): Promise<T> {
    return this.scope.guard(p);
  }

  nextLocalPort(): number {
    const port = this.nextPort;
    this.nextPort = port >= 65535 ? EPHEMERAL_FIRST : port + 1;
    return port;
  }

  forwarded(port: number, forwardPort: number): void {
    this.opts.onForward?.({ ip: this.network.ip, port, forwardPort });
  }

  uartChanged(): void {
    this.opts.onUartConfig?.(this.uartConfig);
    this.emit('uart-config', this.uartConfig);
  }

  // ---- SocketNotify ----

  onReadable(sock: number): void {
    const link = this.links.bySock(sock);
    if (link) this.pump(link);
  }

  onConnected(sock: number, error?: ErrnoName): void {
    this.connects.report(sock, error);
  }

  onAcceptable(sock: number): void {
    acceptPending(this, sock);
  }
}
