/**
 * The SLIP keep-alive: after some silence from the device, one empty PING with a deadline. Its
 * answer is the boot nonce (SPEC §4.4 rev 1.1), so a board that restarted while its BOOT frame was
 * lost is caught too; a silent board is declared lost within ARCHITECTURE §9's 3 s.
 *
 * Schedule: checked four times per `everyMs`; a board silent since its last valid frame is
 * declared lost at most everyMs * 1.25 + answerMs + min(2 RTO, 0.5 s) after it (2.1-2.2 s with the
 * defaults on a fast line, 2.6 s at most), leaving margin for a loaded machine. Life is a valid
 * frame; any frame arriving while a PING waits excuses it (its answer is only queued behind data
 * on a slow line). A verdict waits one more I/O turn, so frames that reached the socket while
 * this process was stalled are read before it stands.
 */
import type { Duplex } from 'node:stream';
import { errno as E, type LinkState } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import type { RpcClient } from './rpc-client.js';

/** What the keep-alive needs from its driver. */
export interface KeepAliveDriver {
  /** True while the driver recovers or is closed: no PING then. */
  paused(): boolean;
  /** An empty PING with a deadline; resolves to the answer's payload. */
  ping(deadlineMs: number): Promise<Uint8Array>;
  /** A PING's answer payload (the answering board's boot nonce, or empty from a rev 1.0 device). */
  answered(payload: Uint8Array): void;
  /** The device is silent: declare it lost (unless the driver closed meanwhile). */
  silent(): void;
}

export interface KeepAliveOptions {
  /** Silence before a PING, ms (0 = off). */
  everyMs: number;
  /** How long a PING may wait for its answer on a fast line, ms. */
  answerMs: number;
}

/**
 * At most this much is added to a PING's answer deadline for the link's retransmission timeout.
 * The allowance covers a PING or its answer lost once and resent (RTO up to 250 ms in full). An
 * uncapped allowance let a loaded host's inflated RTO (event-loop lag counts as round trip)
 * push the verdict past 3 s (measured 3.1 and 3.6 s at load average 7 on 2 cores). A slow line
 * needs no more: an idle line's answer is a few dozen bytes, and a busy one excuses the PING by
 * the frames it delivers meanwhile. The backlog check keeps the full RTO (a frame's own time on
 * a slow line is in it).
 */
const PING_RTO_ALLOWANCE_MS = 500;

export class KeepAlive {
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  /** The reliable link's retransmission timeout right after the device's latest bytes (see `silentWithBacklog`). */
  private rtoWhenHeard?: number;
  /** A verdict waiting for one more I/O turn. */
  private verdict?: NodeJS.Immediate;

  constructor(
    transport: Duplex,
    private readonly rpc: RpcClient,
    private readonly driver: KeepAliveDriver,
    private readonly opts: KeepAliveOptions,
  ) {
    // After the client's own listener: the timeout as this chunk's acknowledgements left it.
    transport.on('data', () => {
      this.rtoWhenHeard = this.rpc.reliable.link?.currentRtoMs;
    });
  }

  /**
   * Checked four times per period, so the silence is never much longer than `everyMs`. While the
   * reliable link has unacknowledged frames no PING is sent (see `silentWithBacklog`).
   */
  start(): void {
    const every = this.opts.everyMs;
    if (every <= 0) return;
    this.timer = setInterval(() => this.tick(every), Math.max(10, every >> 2));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.verdict) clearImmediate(this.verdict);
    this.verdict = undefined;
  }

  private tick(every: number): void {
    if (this.driver.paused() || this.verdict) return;
    const reliable = this.rpc.reliable.link;
    if (reliable && reliable.backlog > 0) {
      if (this.silentWithBacklog(every, reliable)) this.silentUnlessHeard(this.rpc.lastRx);
      return;
    }
    if (this.inFlight || Date.now() - this.rpc.lastRx < every) return;
    const sentAt = Date.now();
    this.inFlight = true;
    this.driver
      .ping(this.opts.answerMs + Math.min(2 * (reliable?.currentRtoMs ?? 0), PING_RTO_ALLOWANCE_MS))
      .then((payload) => this.driver.answered(payload))
      .catch((err) => {
        // Frames that arrived meanwhile prove the device alive: the answer is only queued
        // behind them (a slow line); the next round asks again.
        const heard = this.rpc.lastRx > sentAt;
        if (err instanceof OSError && err.errno === E.ETIMEDOUT && !heard) this.silentUnlessHeard(sentAt);
      })
      .finally(() => {
        this.inFlight = false;
      });
  }

  /**
   * Declares the device silent after one more I/O turn (setImmediate runs after the poll phase):
   * a frame read meanwhile (it arrived while this process was stalled) proves it alive.
   */
  private silentUnlessHeard(since: number): void {
    this.verdict = setImmediate(() => {
      this.verdict = undefined;
      if (this.rpc.lastRx <= since && !this.driver.paused()) this.driver.silent();
    });
  }

  /** How long the device may stay silent with frames unacknowledged: longer on a line whose round trips are slow. */
  private answerDeadline(rtoMs: number): number {
    return this.opts.answerMs + 2 * rtoMs;
  }

  /**
   * While the reliable link retransmits, a PING would only queue behind the backed-off frames and
   * time out falsely, and the link's own retries take ~10 s to give up. But a device that is alive
   * acknowledges each frame as it arrives, even on a slow paced line, so hearing nothing valid for
   * the keep-alive period plus a PING's answer deadline means the same as an unanswered PING.
   * The deadline uses the link's timeout as it was when the device was last heard, not the one
   * that the silence's own retransmissions doubled since.
   */
  private silentWithBacklog(every: number, link: LinkState): boolean {
    const rtoMs = this.rtoWhenHeard ?? link.currentRtoMs;
    return Date.now() - this.rpc.lastRx > every + this.answerDeadline(rtoMs);
  }
}
