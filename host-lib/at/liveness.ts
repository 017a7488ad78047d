/**
 * ESP-AT liveness: stock firmware has no keep-alive, so a board that went silent, hung, or
 * streams nonsense would leave a blocking recv waiting forever. While the driver has work (an
 * open socket, a command running), a line that made no sense for `idleMs` is probed:
 *
 * ```text
 * idle channel:        H: AT+CIPMUX?\r\n   D: +CIPMUX:1\r\n\r\nOK\r\n   (0 = it restarted: our set-up is gone)
 * beside a command:    H: AT\r\n           D: \r\nbusy p...\r\n        (input during a command is refused)
 * ```
 *
 * No sensible answer within `answerMs` → `onLost` (every call fails at once from then on; the
 * driver recovers in the background). Where a probe cannot go out (a CIPSEND between its
 * command and `Recv N bytes`: the probe would become payload) the silence itself decides,
 * after `idleMs + answerMs` plus the time the payload takes on the line.
 *
 * Schedule (ARCHITECTURE §9, a silent board noticed within 3 s): checked every {@link TICK_MS}, a
 * silent board is declared lost at most idleMs + answerMs + 2 ticks after its last sensible byte
 * (2.2 s with the defaults), leaving 0.8 s for a loaded machine. Life is a sensible byte: a whole
 * line or payload bytes of a `+IPD`/`+CIPRECVDATA` (an endless line or garbage is not). A verdict
 * waits one more I/O turn: when the event loop itself was stalled, an answer that arrived meanwhile
 * is read before the timer's verdict stands, so a slow host is never read as a silent board.
 */
import { errno as E } from '../../firmware-protocol/index.js';
import type { AtChannel } from './channel.js';

export interface LivenessOptions {
  /** Probe after this long without a sensible byte, ms (default 500; 0 = never). */
  idleMs?: number;
  /** A probe unanswered this long means the module is lost, ms (default 1500: a busy host may be slow). */
  answerMs?: number;
}

export interface LivenessHooks {
  /** Whether anything depends on the module now (sockets open, commands running). */
  active(): boolean;
  /** The module stopped answering. */
  onLost(errno: number, why: string): void;
  /** A probe found the module's set-up gone (`+CIPMUX:0`): it restarted and its `ready` was lost. */
  onRestarted(): void;
  /** Extra silence allowed where no probe can go out (a CIPSEND's payload on a slow line), ms. */
  slack(): number;
}

const ignore = (): void => {};

/** How often the schedule is checked, ms (at most; a quarter of the shorter period when smaller). */
export const TICK_MS = 100;

export class AtLiveness {
  private readonly idleMs: number;
  private readonly answerMs: number;
  private readonly timer?: NodeJS.Timeout;
  /** When the outstanding probe went out (0 = none). */
  private probeAt = 0;
  /** A verdict waiting for one more I/O turn. */
  private verdict?: NodeJS.Immediate;

  constructor(
    private readonly ch: AtChannel,
    private readonly hooks: LivenessHooks,
    opts: LivenessOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 500;
    this.answerMs = opts.answerMs ?? 1500;
    if (this.idleMs <= 0) return;
    const tick = Math.max(20, Math.min(TICK_MS, this.idleMs / 4, this.answerMs / 4));
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.cancelVerdict();
  }

  /** Forgets an outstanding probe (the driver was reset or recovered). */
  reset(): void {
    this.probeAt = 0;
    this.cancelVerdict();
  }

  private cancelVerdict(): void {
    if (this.verdict) clearImmediate(this.verdict);
    this.verdict = undefined;
  }

  private tick(): void {
    if (this.verdict) return;
    const now = Date.now();
    if (this.probeAt > 0) {
      if (this.ch.lastProgressAt >= this.probeAt) this.probeAt = 0;
      else if (now - this.probeAt > this.answerMs) this.lost(`no answer to a probe within ${this.answerMs} ms`);
      return;
    }
    if (!this.hooks.active()) return;
    const quiet = now - this.ch.lastProgressAt;
    if (quiet < this.idleMs) return;
    if (this.ch.isIdle) this.probeIdle(now);
    else if (this.ch.probeBeside()) this.probeAt = now;
    else if (quiet > this.idleMs + this.answerMs + this.hooks.slack()) this.lost(`silent for ${quiet} ms`);
  }

  /** `AT+CIPMUX?` as a command: answered at all = alive; `+CIPMUX:0` = restarted. */
  private probeIdle(now: number): void {
    this.probeAt = now;
    // ERROR or busy is an answer too: tick() judges by progress, so a failure needs no handling.
    this.ch
      .run({ name: 'CIPMUX', form: 'query', timeoutMs: this.answerMs + 500, context: 'keep-alive', retryBusy: false })
      .then((reply) => {
        const line = reply.lines.find((m) => m.type === 'info' && m.prefix === '+CIPMUX');
        if (line?.type === 'info' && line.fields[0] === 0) this.hooks.onRestarted();
      }, ignore);
  }

  /**
   * Declares the module lost after one more I/O turn (setImmediate runs after the poll phase), so
   * bytes that reached the socket while this process was stalled are read first: any progress
   * meanwhile and the verdict is dropped.
   */
  private lost(why: string): void {
    const progress = this.ch.lastProgressAt;
    this.verdict = setImmediate(() => {
      this.verdict = undefined;
      if (this.ch.lastProgressAt !== progress) return; // tick() sees the answer next time
      this.probeAt = 0;
      this.hooks.onLost(E.ETIMEDOUT, `coprocessor not responding (${why})`);
    });
  }
}
