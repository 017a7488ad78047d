/**
 * `rfc2217://host:port`: a serial port reached over telnet COM-PORT-OPTION (RFC 2217), e.g. the
 * emulator's `--rfc2217` port, pyserial's or esptool's `esp_rfc2217_server`, ser2net in telnet
 * mode. The link is a Duplex of plain data bytes (IAC doubling is undone/applied here), plus
 * the port controls a USB-UART has: baud and framing, DTR/RTS, BREAK, purge.
 *
 * URL options as pyserial spells them: `?ign_set_control` (don't wait for SET-CONTROL answers,
 * for servers that never send them) and `?timeout=SECONDS` (deadline per answer, default 3).
 */
import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { BUSY_NOTE, BUSY_TEXT, errno as E } from '../../firmware-protocol/index.js';
import {
  CONTROL,
  type ComPortCommand,
  escapeIac,
  MODEMSTATE,
  PARITY_CODES,
  type Parity,
  PURGE_CODES,
  type PurgeTarget,
  STOPSIZE_CODES,
  type StopBits,
  toCode,
} from '../../firmware-protocol/rfc2217.js';
import { OSError } from '../errors.js';
import { type ClientEvent, Rfc2217ClientSession } from './rfc2217-session.js';

/** Line settings negotiated on open (defaults: 115200 8N1, no flow control). */
export interface Rfc2217OpenOptions {
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: Parity;
  stopBits?: StopBits;
  rtscts?: boolean;
  /** Deadline for the TCP connect, ms (default 5000). */
  openTimeoutMs?: number;
}

/** The device-side lines, from the server's last NOTIFY-MODEMSTATE. */
export interface ModemLines {
  cts: boolean;
  dsr: boolean;
  ri: boolean;
  cd: boolean;
}

interface Waiter {
  resolve(value: number | null): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  /** Timed out: stays queued so a late answer is consumed by it, not by the next request. */
  dead: boolean;
}

interface LinkConfig {
  locator: string;
  ackTimeoutMs: number;
  ignoreSetControl: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits `rfc2217://host:port?options`; throws a clear message on anything else. */
export function parseRfc2217Locator(locator: string): LinkConfig & { host: string; port: number } {
  const url = new URL(locator);
  const port = Number(url.port);
  if (url.protocol !== 'rfc2217:' || !url.hostname || !port)
    throw new Error(`rfc2217:// needs host and port: ${locator}`);
  let ackTimeoutMs = 3000;
  let ignoreSetControl = false;
  for (const [key, value] of url.searchParams) {
    if (key === 'ign_set_control') ignoreSetControl = true;
    else if (key === 'timeout' && Number(value) > 0) ackTimeoutMs = Number(value) * 1000;
    else
      throw new Error(
        `unknown rfc2217:// option '${key}${value ? `=${value}` : ''}' (expected ign_set_control, timeout=SECONDS)`,
      );
  }
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, locator, ackTimeoutMs, ignoreSetControl };
}

/**
 * An open RFC 2217 port. Write data, read data; control methods resolve once the server
 * answered (each with a deadline) and reject when it kept a different value.
 *
 * ```ts
 * const link = await Rfc2217Link.open('rfc2217://127.0.0.1:41235', { baudRate: 115200 });
 * await link.setBaud(921600);
 * await link.pulseReset();          // esptool's hard reset: RTS pulse with DTR released
 * const dev = await openDevice(link);
 * ```
 */
export class Rfc2217Link extends Duplex {
  readonly locator: string;
  readonly #socket: Socket;
  readonly #config: LinkConfig;
  readonly #session = new Rfc2217ClientSession();
  readonly #waiters = new Map<ComPortCommand, Waiter[]>();
  /** Settles the open's negotiation: the server's DO/DONT, or a closed link. */
  #negotiation: { answer(enabled: boolean): void; fail(err: Error): void } | null = null;
  #modemState: number | null = null;
  /** Writes held while the server suspended our flow. */
  #held: (() => void)[] | null = null;

  /** Connects, negotiates COM-PORT-OPTION and the line settings; rejects (and closes) on any refusal or timeout. */
  static async open(locator: string, opts: Rfc2217OpenOptions = {}): Promise<Rfc2217Link> {
    const config = parseRfc2217Locator(locator);
    const socket = await connectTcp(config.host, config.port, opts.openTimeoutMs ?? 5000, locator);
    const link = new Rfc2217Link(socket, config);
    try {
      await link.#negotiate();
      await link.#configure(opts);
    } catch (err) {
      // A port that already has a host says so in plain text, then closes (no telnet at all).
      const head = link.read() as Buffer | null;
      link.destroy();
      if (head?.toString('latin1').startsWith(BUSY_NOTE)) throw new OSError(E.EBUSY, `${locator}: ${BUSY_TEXT}`);
      throw err;
    }
    return link;
  }

  private constructor(socket: Socket, config: LinkConfig) {
    super();
    this.locator = config.locator;
    this.#socket = socket;
    this.#config = config;
    socket.on('data', this.#onData);
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /** Device lines from the last NOTIFY-MODEMSTATE, or null if the server sent none. */
  get modemLines(): ModemLines | null {
    const m = this.#modemState;
    if (m === null) return null;
    return {
      cts: !!(m & MODEMSTATE.CTS),
      dsr: !!(m & MODEMSTATE.DSR),
      ri: !!(m & MODEMSTATE.RI),
      cd: !!(m & MODEMSTATE.CD),
    };
  }

  async setBaud(baudRate: number): Promise<void> {
    if (!Number.isInteger(baudRate) || baudRate <= 0 || baudRate >= 2 ** 32)
      throw new RangeError(`invalid baud rate: ${baudRate}`);
    await this.#expect('SET-BAUDRATE', baudRate, `baud rate ${baudRate}`);
  }

  /** Data bits, parity and stop bits (only those given). */
  async setFraming(f: Pick<Rfc2217OpenOptions, 'dataBits' | 'parity' | 'stopBits'>): Promise<void> {
    await Promise.all([
      f.dataBits === undefined ? null : this.#expect('SET-DATASIZE', f.dataBits, `${f.dataBits} data bits`),
      f.parity === undefined ? null : this.#expect('SET-PARITY', toCode(PARITY_CODES, f.parity), `parity ${f.parity}`),
      f.stopBits === undefined
        ? null
        : this.#expect('SET-STOPSIZE', toCode(STOPSIZE_CODES, f.stopBits), `${f.stopBits} stop bits`),
    ]);
  }

  /** Sets DTR, then RTS (pyserial's order, which keeps an ESP auto-reset circuit out of reset). */
  async setControl(lines: { dtr?: boolean; rts?: boolean }): Promise<void> {
    await Promise.all([
      lines.dtr === undefined
        ? null
        : this.#control(lines.dtr ? CONTROL.DTR_ON : CONTROL.DTR_OFF, `DTR ${lines.dtr ? 'on' : 'off'}`),
      lines.rts === undefined
        ? null
        : this.#control(lines.rts ? CONTROL.RTS_ON : CONTROL.RTS_OFF, `RTS ${lines.rts ? 'on' : 'off'}`),
    ]);
  }

  /** Holds BREAK for `ms` milliseconds. */
  async sendBreak(ms = 250): Promise<void> {
    await this.#control(CONTROL.BREAK_ON, 'BREAK on');
    await sleep(ms);
    await this.#control(CONTROL.BREAK_OFF, 'BREAK off');
  }

  /** Discards the server's buffered data: `rx` = device → host, `tx` = host → device. */
  async purge(target: PurgeTarget = 'both'): Promise<void> {
    await this.#expect('PURGE-DATA', PURGE_CODES[target], `purge ${target}`);
  }

  /**
   * esptool's hard reset through the ESP dev-board circuit: DTR released, RTS asserted (EN low)
   * for `ms`, then RTS released (EN high: the chip boots). Lines are left released, as esptool does.
   */
  async pulseReset(ms = 100): Promise<void> {
    await this.setControl({ dtr: false, rts: true });
    await sleep(ms);
    await this.setControl({ rts: false });
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#held) return void this.#held.push(() => this._write(chunk, _enc, done));
    if (this.#socket.write(escapeIac(chunk))) done();
    else this.#socket.once('drain', () => done());
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#socket.end(() => done());
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#socket.destroy();
    this.#failAll(new Error(`${this.locator}: the link closed`));
    done(err);
  }

  readonly #onData = (chunk: Buffer): void => {
    const { data, replies, events } = this.#session.push(chunk);
    for (const reply of replies) this.#socket.write(reply);
    let more = true;
    for (const d of data) more = this.push(d) && more;
    for (const event of events) this.#onEvent(event);
    // Pausing also delays answers to control requests: a link must be read to be controlled.
    if (!more) this.#socket.pause();
  };

  #onEvent(e: ClientEvent): void {
    if (e.type === 'com-port') this.#negotiation?.answer(e.enabled);
    else if (e.type === 'answer') this.#answer(e.command, e.value);
    else if (e.type === 'modem-state') this.#modemState = e.value;
    else if (e.type === 'suspend') this.#held ??= [];
    else if (e.type === 'resume') this.#release();
  }

  #release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const write of held) write();
  }

  #negotiate(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (err?: Error): void => {
        clearTimeout(timer);
        this.#negotiation = null;
        if (err) reject(err);
        else resolve();
      };
      const ms = this.#config.ackTimeoutMs;
      const timer = setTimeout(
        () =>
          settle(new Error(`${this.locator} did not answer RFC 2217 negotiation in ${ms} ms (a raw socket:// port?)`)),
        ms,
      );
      this.#negotiation = {
        answer: (enabled) =>
          settle(enabled ? undefined : new Error(`${this.locator} refused COM-PORT-OPTION (not an RFC 2217 server)`)),
        fail: settle,
      };
      for (const offer of this.#session.start()) this.#socket.write(offer);
    });
  }

  async #configure(o: Rfc2217OpenOptions): Promise<void> {
    await Promise.all([
      this.setBaud(o.baudRate ?? 115200),
      this.setFraming({ dataBits: o.dataBits ?? 8, parity: o.parity ?? 'none', stopBits: o.stopBits ?? 1 }),
    ]);
    // As a tty open does: flow control, then DTR and RTS asserted.
    await Promise.all([
      this.#control(o.rtscts ? CONTROL.FLOW_HARDWARE : CONTROL.FLOW_NONE, 'flow control'),
      this.setControl({ dtr: true, rts: true }),
    ]);
  }

  async #control(value: number, what: string): Promise<void> {
    if (!this.#config.ignoreSetControl) return this.#expect('SET-CONTROL', value, what);
    this.#socket.write(this.#session.command('SET-CONTROL', value));
  }

  async #expect(command: ComPortCommand, value: number, what: string): Promise<void> {
    const got = await this.#request(command, value);
    if (got !== value) throw new Error(`${this.locator} refused ${what} (answered ${command} ${got})`);
  }

  #request(command: ComPortCommand, value: number): Promise<number | null> {
    if (this.destroyed) return Promise.reject(new Error(`${this.locator}: the link is closed`));
    return new Promise((resolve, reject) => {
      const ms = this.#config.ackTimeoutMs;
      const waiter: Waiter = { resolve, reject, dead: false, timer: setTimeout(() => expire(), ms) };
      const expire = (): void => {
        waiter.dead = true;
        reject(new Error(`${this.locator} did not answer ${command} ${value} in ${ms} ms`));
      };
      const queue = this.#waiters.get(command) ?? [];
      this.#waiters.set(command, queue);
      queue.push(waiter);
      this.#socket.write(this.#session.command(command, value));
    });
  }

  /** Answers come in request order per command (the server handles one sub-negotiation at a time). */
  #answer(command: ComPortCommand, value: number | null): void {
    const waiter = this.#waiters.get(command)?.shift();
    if (!waiter || waiter.dead) return;
    clearTimeout(waiter.timer);
    waiter.resolve(value);
  }

  #failAll(err: Error): void {
    for (const queue of this.#waiters.values()) {
      for (const w of queue.splice(0)) {
        clearTimeout(w.timer);
        if (!w.dead) w.reject(err);
      }
    }
    this.#negotiation?.fail(err);
  }
}

function connectTcp(host: string, port: number, timeoutMs: number, locator: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms connecting to ${locator}`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true); // control requests and small frames must not wait for Nagle
      resolve(socket);
    });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${locator}: ${err.message}`));
    };
    socket.once('error', fail);
  });
}

/** Opens `rfc2217://host:port` as a data Duplex with port controls. */
export function openRfc2217(locator: string, opts: Rfc2217OpenOptions = {}): Promise<Rfc2217Link> {
  return Rfc2217Link.open(locator, opts);
}
