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
 */
import { errno as E } from '../../firmware-protocol/index.js';
import type { AtChannel } from './channel.js';

export interface LivenessOptions {
  /** Probe after this long without a sensible byte, ms (default 750; 0 = never). */
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

export class AtLiveness {
  private readonly idleMs: number;
  private readonly answerMs: number;
  private readonly timer?: NodeJS.Timeout;
  /** When the outstanding probe went out (0 = none). */
  private probeAt = 0;

  constructor(
    private readonly ch: AtChannel,
    private readonly hooks: LivenessHooks,
    opts: LivenessOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 750;
    this.answerMs = opts.answerMs ?? 1500;
    if (this.idleMs <= 0) return;
    this.timer = setInterval(() => this.tick(), Math.max(20, Math.min(this.idleMs, this.answerMs) / 4));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Forgets an outstanding probe (the driver was reset or recovered). */
  reset(): void {
    this.probeAt = 0;
  }

  private tick(): void {
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

  private lost(why: string): void {
    this.probeAt = 0;
    this.hooks.onLost(E.ETIMEDOUT, `coprocessor not responding (${why})`);
  }
}
