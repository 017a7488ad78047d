/**
 * One AT command in flight and the reply rules that only concern it: the prompt and its payload,
 * `busy p...` resends after a backoff (unless a reply shows the line was taken after all), the
 * grace a `SEND FAIL` gives a `SEND OK` of the same send, the deadline. The channel
 * (channel.ts) decides what runs when and routes each reply-type message here.
 *
 * ```text
 * H: AT+CIPSEND=0,8\r\n   D: \r\nOK\r\n\r\n>        → payload written once
 * H: <8 bytes>            D: \r\nSEND FAIL\r\n       → not final yet: wait up to the grace
 *                         D: \r\nSEND OK\r\n         → the firmware retried: done, no error
 * ```
 */
import type { at } from '../../firmware-protocol/index.js';
import { ALWAYS_EXPECTED, type AtJob, FINAL_RESULTS, isBusyCode } from './command.js';
import type { AtFailure } from './errno-map.js';

type AtMessage = at.AtMessage;

/** What a command in flight needs of its channel. */
export interface FlightHost {
  readonly busyRetries: number;
  readonly busyBackoffMs: number;
  readonly sendFailGraceMs: number;
  write(bytes: Uint8Array): void;
  /** The flight is over (`failure` null = success); the channel settles the job and moves on. */
  ended(f: Flight, failure: AtFailure | null): void;
  /** A `>` nobody waits for. */
  strayPrompt(): void;
  /** A late reply may still come: the next command must be preceded by a resync. */
  desync(): void;
  /** The deadline passed before the `>`: the device may still prompt for this payload later. */
  lostPrompt(payload: Uint8Array | null): void;
  /** ms since the device last sent a byte. */
  quietMs(): number;
  /** The parser holds part of a message. */
  partialInput(): boolean;
  /** The module confirmed a `bytes` payload `ms` after it was written (line-rate.ts). */
  delivered(bytes: number, ms: number): void;
}

export class Flight {
  readonly prompt: boolean;
  readonly expects: ReadonlySet<string>;
  readonly context: string;
  readonly timeoutMs: number;
  replies: AtMessage[] = [];
  private payloadSent = false;
  /** When the payload was written (0 = not yet, or its delivery already measured). */
  private payloadAt = 0;
  private attempts = 1;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  /** `SEND FAIL` seen: the failure, unless a `SEND OK` follows before `graceTimer` fires. */
  private sendFailed?: AtFailure;
  private graceTimer?: NodeJS.Timeout;

  constructor(
    readonly job: AtJob,
    /** The encoded command line. */
    readonly line: Uint8Array,
    form: at.FormSpec | undefined,
    tableTimeoutMs: number,
    private readonly host: FlightHost,
  ) {
    this.prompt = form?.prompt === true;
    this.expects = new Set([...(form?.info ?? []), ...ALWAYS_EXPECTED]);
    this.context = job.cmd.context ?? job.cmd.name;
    this.timeoutMs = job.cmd.timeoutMs ?? form?.timeoutMs ?? tableTimeoutMs;
  }

  /** Writes the line and starts the deadline. */
  start(): void {
    this.timer = setTimeout(() => this.timedOut(), this.timeoutMs);
    this.host.write(this.line);
  }

  /** Ends every timer (the channel ended the flight). */
  stop(): void {
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
  }

  /** A message that belongs to this command's reply. */
  reply(m: AtMessage): void {
    const final = FINAL_RESULTS.get(m.type);
    if (this.payloadAt && (m.type === 'recv' || m.type === 'send-ok')) this.measureDelivery();
    if (m.type !== 'busy') this.cancelRetry();
    if (m.type === 'prompt') this.onPrompt();
    else if (m.type === 'busy') this.onBusy();
    else if (final !== undefined) this.onFinal(final);
    else {
      this.replies.push(m);
      this.job.onLine?.(m);
    }
  }

  private onFinal(result: 'ok' | 'error' | 'send-fail'): void {
    if (result === 'send-fail' && this.payloadSent && !this.sendFailed) {
      this.awaitSendOk();
    } else if (result === 'error' || result === 'send-fail') {
      this.host.ended(this, this.sendFailed ?? { kind: result, replies: this.replies });
    } else if (this.prompt && !this.payloadSent) {
      // `\r\nOK\r\n\r\n>`: the prompt follows.
    } else if (this.job.cmd.needLine && !this.replies.some(this.job.cmd.needLine)) {
      this.replies = []; // a late OK of an older command
    } else {
      this.host.ended(this, null);
    }
  }

  /**
   * `SEND FAIL` of a send whose payload went out: a `SEND OK` of the same send may follow, and
   * then the bytes were sent (`\r\nSEND FAIL\r\n\r\nSEND OK\r\n`). The command stays in flight
   * until the grace ends, so that late `SEND OK` cannot pass for the next command's `OK`.
   */
  private awaitSendOk(): void {
    const failed: AtFailure = { kind: 'send-fail', replies: this.replies };
    this.sendFailed = failed;
    this.graceTimer = setTimeout(() => {
      this.host.desync(); // a SEND OK later still must meet the resync probe, not a command
      this.host.ended(this, failed);
    }, this.host.sendFailGraceMs);
  }

  /** A reply line arrived: a pending busy resend is off, the device took the line after all. */
  private cancelRetry(): void {
    if (!this.retryTimer) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private onPrompt(): void {
    const payload = this.job.cmd.payload;
    if (!this.prompt || this.payloadSent || payload === undefined) {
      this.host.strayPrompt();
      return;
    }
    this.payloadSent = true;
    this.payloadAt = Date.now();
    this.host.write(payload);
  }

  /** `Recv N bytes` (or `SEND OK` without it): the whole payload crossed the line. */
  private measureDelivery(): void {
    const bytes = this.job.cmd.payload?.length ?? 0;
    this.host.delivered(bytes, Date.now() - this.payloadAt);
    this.payloadAt = 0;
  }

  /** Payload bytes of this command (0 if it carries none): the module is silent while they cross the line. */
  get payloadBytes(): number {
    return this.prompt ? (this.job.cmd.payload?.length ?? 0) : 0;
  }

  /** `busy p...`: the line was dropped; resend after a backoff unless a result comes first. */
  private onBusy(): void {
    this.replies = this.replies.filter((m) => !isBusyCode(m));
    if (this.payloadSent || this.retryTimer) return;
    if (this.job.cmd.retryBusy === false || this.attempts > this.host.busyRetries) {
      this.host.ended(this, { kind: 'busy', attempts: this.attempts });
      return;
    }
    const delay = Math.min(1000, this.host.busyBackoffMs * 2 ** (this.attempts - 1));
    this.retryTimer = setTimeout(() => this.resend(delay), delay);
  }

  /**
   * The backoff is over. Unless the line has been quiet for as long, the busy may have been
   * stray and the reply on its way (`busy p...` then an 8 KiB `+CIPRECVDATA` that takes 0.7 s
   * at 115200 baud, esp-at#731): a resend then would run the command twice, so wait again.
   */
  private resend(delay: number): void {
    this.retryTimer = undefined;
    const quiet = this.host.quietMs();
    const partial = this.host.partialInput();
    if (partial || quiet < delay) {
      this.retryTimer = setTimeout(() => this.resend(delay), partial ? delay : delay - quiet);
      return;
    }
    this.attempts++;
    this.replies = [];
    this.host.write(this.line);
  }

  private timedOut(): void {
    if (this.prompt && !this.payloadSent) this.host.lostPrompt(this.job.cmd.payload ?? null);
    this.host.desync();
    this.host.ended(this, { kind: 'timeout', ms: this.timeoutMs });
  }
}
