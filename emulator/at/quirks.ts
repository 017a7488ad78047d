/**
 * ESP-AT quirks: what real boards do that the manual does not promise (esp-at.md §6,
 * tooling-notes.md §5), played on demand so host drivers can be tested against them. Each is a
 * switch of `createEmulator({ atQuirks })` or a scenario's `at.quirks`: `true` plays it at every
 * chance, a number in 0..1 is the probability per chance. Every choice (whether, where, how
 * long) is drawn from the emulator's seeded random, so a seed replays a run byte for byte.
 *
 * | quirk                      | on the wire (H: host, D: device)                                        |
 * |----------------------------|-------------------------------------------------------------------------|
 * | urcBetweenPromptAndRecv    | D: `\r\nOK\r\n\r\n>\r\n+IPD,4,512\r\n` then H: payload, D: `\r\nRecv 9 bytes\r\n` |
 * | ipdBeforeSendOk            | D: `\r\nRecv 9 bytes\r\n\r\n+IPD,4,9\r\n\r\nSEND OK\r\n`                 |
 * | sendFailThenSendOk         | D: `\r\nRecv 9 bytes\r\n\r\nSEND FAIL\r\n` … `\r\nSEND OK\r\n` (data sent) |
 * | strayBusyAfterOk           | D: `\r\nOK\r\n\r\nbusy p...\r\n` (also after SEND OK), or before the next reply |
 * | gluedMessages              | D: `\r\nRecv 9 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4,9\r\n` in one write     |
 * | strayDebugLines            | D: `local port:2390\r\n`, `change type:2\r\n`, `to read 75 bytes\r\n`     |
 * | echoLeftOn                 | D: `AT+CIPRECVDATA=4,8192\r\n+CIPRECVDATA:…` although ATE0 was sent        |
 * | closedRacingRead           | H: `AT+CIPRECVDATA=4,8192`  D: `4,CLOSED\r\n` … `+CIPRECVDATA:75,…\r\nOK\r\n` |
 * | passiveSslLengthMismatch   | D: `\r\n+IPD,4,104\r\n` then `+CIPRECVDATA:75,…` (SSL: +29 per record)    |
 *
 * The output quirks live in {@link AtQuirkPlayer}, between the personality's `say()` and the
 * UART; the few that need a command's cooperation are the helpers below (send.ts, receive.ts).
 */
import { type AtMessage, errCode, formatMessages } from '../../firmware-protocol/at/index.js';
import { AT_QUIRKS, type AtQuirk, type AtQuirks } from '../faults/scenario.js';
import { forkRandom } from '../faults/trace.js';
import type { Random } from '../random.js';

/** What the player needs of the board: its UART, and two settings. */
export interface QuirkUart {
  /** Pushes bytes to the host now (with the UART's backpressure). */
  write(bytes: Uint8Array): void;
  /** AT+CIPMODE=1: a `>` may open passthrough, where inserted text would become payload. AT+SYSLOG=1: `busy p...` comes with `ERR CODE:0x010b0000`. */
  readonly settings: { readonly live: { readonly cipmode: 0 | 1; readonly syslog: boolean } };
}

/** URCs that urcBetweenPromptAndRecv may hold back until the next `>` (never replies). */
const HOLDABLE: ReadonlySet<AtMessage['type']> = new Set(['ipd', 'ipd-notify', 'connect', 'link-conn', 'closed']);
/**
 * Messages that change which link is which: held data URCs may let replies overtake them (real
 * URCs are asynchronous), but nothing overtakes one of these, nor they a held URC.
 */
const LINK_STATE: ReadonlySet<AtMessage['type']> = new Set(['connect', 'link-conn', 'closed', 'ready']);
/**
 * Longest a held URC waits for a prompt, and how long glued writes collect, ms (seeded within).
 * 5-30 ms rather than 2-12: since the in-process line delivers the board's output a turn later (as
 * every real transport does), a host's next AT+CIPSEND often came after 12 ms on a busy CI machine,
 * so the quirk showed in only half the runs meant to exercise it.
 */
const HOLD_MS: readonly [number, number] = [5, 30];
const GLUE_MS: readonly [number, number] = [0, 3];
/** Held or glued bytes beyond this go out at once, so the UART's backpressure still bites. */
const MAX_BUFFERED = 8192;
const BUSY: readonly AtMessage[] = [{ type: 'busy', what: 'p' }];
const BUSY_CODE = errCode('busy');
/** Debug text v2.1-era builds left on the AT port (esp-at#450, #294, #280). */
const DEBUG_LINES: readonly ((r: Random) => string)[] = [
  (r) => `local port:${1024 + Math.floor(r.next() * 64512)}`,
  (r) => `change type:${Math.floor(r.next() * 3)}`,
  (r) => `to read ${1 + Math.floor(r.next() * 2920)} bytes`,
];
const encoder = new TextEncoder();

function ratesOf(quirks: AtQuirks | undefined): Readonly<Record<AtQuirk, number>> {
  const rate = (v: boolean | number | undefined) => (v === true ? 1 : typeof v === 'number' ? v : 0);
  return Object.fromEntries(AT_QUIRKS.map((q) => [q, rate(quirks?.[q])])) as Record<AtQuirk, number>;
}

/**
 * Plays the switched-on quirks on the personality's output. With every quirk off it adds a
 * single branch per write.
 *
 * @example
 * const player = new AtQuirkPlayer({ strayBusyAfterOk: 0.1 }, seededRandom(7), uart);
 * player.say([{ type: 'ok' }]);   // `\r\nOK\r\n`, and one time in ten `\r\nbusy p...\r\n` after it
 */
export class AtQuirkPlayer {
  /** Some quirk is switched on. */
  readonly on: boolean;
  /** How often each quirk played so far (diagnostics and tests). */
  readonly played: Record<AtQuirk, number>;
  private readonly rates: Readonly<Record<AtQuirk, number>>;
  private readonly random: Random;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldLinkState = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private glued: Uint8Array[] = [];
  private gluedBytes = 0;
  private glueTimer: NodeJS.Timeout | undefined;
  private busyArmed = false;

  constructor(
    quirks: AtQuirks | undefined,
    random: Random,
    private readonly uart: QuirkUart,
  ) {
    this.rates = ratesOf(quirks);
    this.played = Object.fromEntries(AT_QUIRKS.map((q) => [q, 0])) as Record<AtQuirk, number>;
    this.on = Object.values(this.rates).some((p) => p > 0);
    // A stream of its own: how often quirks draw does not shift the board's other choices.
    this.random = this.on ? forkRandom(random) : random;
  }

  private get passthrough(): boolean {
    return this.uart.settings.live.cipmode === 1;
  }

  /** Whether `quirk` plays at this chance: one draw, none when it is off or certain. */
  fires(quirk: AtQuirk): boolean {
    const p = this.rates[quirk];
    const plays = p >= 1 || (p > 0 && this.random.next() < p);
    if (plays) this.played[quirk]++;
    return plays;
  }

  /** A seeded whole number of milliseconds in [min, max]. */
  delayMs(min: number, max: number): number {
    return min + Math.floor(this.random.next() * (max - min + 1));
  }

  /** The personality's `say`: one batch of messages, written as one piece unless a quirk splits it off. */
  say(messages: readonly AtMessage[]): void {
    const bytes = formatMessages(messages);
    if (!this.on) {
      this.uart.write(bytes);
      return;
    }
    if (this.canHold(messages) && this.fires('urcBetweenPromptAndRecv')) {
      this.hold(messages, bytes);
      return;
    }
    // Held URCs go out right after a `>` (so before `Recv N bytes`); before it only if order matters.
    const prompt = messages.some((m) => m.type === 'prompt') && !this.passthrough;
    const ordered = this.passthrough || this.heldLinkState || messages.some((m) => LINK_STATE.has(m.type));
    if (!prompt && ordered) this.release();
    this.debugLine();
    this.out(bytes);
    if (prompt) this.release();
    const last = messages.at(-1)?.type;
    if (last === 'ok' || last === 'send-ok') this.afterOk();
  }

  /** Bytes that are not messages (echo, passthrough data): same order, no insertions. */
  raw(bytes: Uint8Array): void {
    if (this.on) this.out(bytes);
    else this.uart.write(bytes);
  }

  /** echoLeftOn: whether a command line is echoed although ATE0 turned echo off. */
  echoes(): boolean {
    return this.fires('echoLeftOn');
  }

  /** A command line is about to run: a `busy p...` armed by strayBusyAfterOk comes first (esp-at#731). */
  commandTaken(): void {
    if (!this.busyArmed) return;
    this.busyArmed = false;
    this.sayBusy();
  }

  /** Drops what is held or glued and stops the timers (the UART is going away). */
  close(): void {
    clearTimeout(this.holdTimer);
    clearTimeout(this.glueTimer);
    this.held = [];
    this.glued = [];
    this.heldBytes = this.gluedBytes = 0;
    this.heldLinkState = false;
  }

  private canHold(messages: readonly AtMessage[]): boolean {
    return !this.passthrough && messages.length > 0 && messages.every((m) => HOLDABLE.has(m.type));
  }

  /** urcBetweenPromptAndRecv: a URC waits for the next `>` (or a few ms, if no send comes). */
  private hold(messages: readonly AtMessage[], bytes: Uint8Array): void {
    this.held.push(bytes);
    this.heldBytes += bytes.length;
    this.heldLinkState ||= messages.some((m) => LINK_STATE.has(m.type));
    if (this.heldBytes > MAX_BUFFERED) this.release();
    else this.holdTimer ??= setTimeout(() => this.release(), this.delayMs(...HOLD_MS));
  }

  private release(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.heldLinkState = false;
    for (const b of held) this.out(b);
  }

  /** strayBusyAfterOk: `busy p...` right after the OK, or before the next command's reply. */
  private afterOk(): void {
    if (this.passthrough || !this.fires('strayBusyAfterOk')) return;
    if (this.random.next() < 0.5) this.sayBusy();
    else this.busyArmed = true;
  }

  private sayBusy(): void {
    const code: AtMessage[] = this.uart.settings.live.syslog ? [{ type: 'err-code', code: BUSY_CODE }] : [];
    this.out(formatMessages([...code, ...BUSY]));
  }

  /** strayDebugLines: a line no grammar knows, at a message boundary. */
  private debugLine(): void {
    if (this.passthrough || !this.fires('strayDebugLines')) return;
    const line = DEBUG_LINES[Math.floor(this.random.next() * DEBUG_LINES.length)]!;
    this.out(encoder.encode(`${line(this.random)}\r\n`));
  }

  /** gluedMessages: writes collect for a few ms and leave as one chunk; otherwise straight out. */
  private out(bytes: Uint8Array): void {
    if (this.glued.length === 0 && !this.fires('gluedMessages')) {
      this.uart.write(bytes);
      return;
    }
    this.glued.push(bytes);
    this.gluedBytes += bytes.length;
    if (this.gluedBytes > MAX_BUFFERED) this.flushGlue();
    else this.glueTimer ??= setTimeout(() => this.flushGlue(), this.delayMs(...GLUE_MS));
  }

  private flushGlue(): void {
    clearTimeout(this.glueTimer);
    this.glueTimer = undefined;
    const parts = this.glued;
    this.glued = [];
    this.gluedBytes = 0;
    if (parts.length > 0) this.uart.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}
