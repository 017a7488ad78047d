/**
 * Passthrough ("transparent transmission", esp-at.md §2): AT+CIPMODE=1, then AT+CIPSEND →
 * `\r\nOK\r\n\r\n>`, then every UART byte goes to the single link and its data comes back raw.
 *
 * The way out is `+++` as a timed packet: at least 20 ms of silence before, the three `+`
 * less than 20 ms apart, and 20 ms of silence after (AT_UART_PATTERN_TIMEOUT_MS). Pluses that
 * break the timing are data. No reply, unless AT+SYSMSG bit0 asks for `\r\n+QUITT\r\n`.
 *
 * Like the firmware, bytes from the UART are buffered (8192 at most: beyond that the host is held
 * back through the stream's write callback, our RTS) and sent in 2920-byte packets at once,
 * smaller remainders after AT+TRANSINTVL's 20 ms.
 */
import type { CommandName } from '../../firmware-protocol/at/index.js';
import type { SocketTable } from '../core/socket-table.js';
import { type AtDevice, type FormHandlers, fail } from './context.js';
import type { Link } from './link-table.js';
import type { Settings } from './settings.js';

/** The `+++` guard time. */
export const GUARD_MS = 20;
/** AT+TRANSINTVL default: how long a partial packet waits for more bytes. */
export const TRANSINTVL_MS = 20;
/** Largest packet sent to the link at once. */
export const PACKET = 2920;
/** UART bytes buffered before the host is held back. */
export const UART_INTAKE = 8192;

const PLUS = 0x2b;

/** What the session needs from the personality. */
export interface PassthroughHost {
  readonly table: SocketTable;
  readonly settings: Settings;
  readonly outputBlocked: boolean;
  /** Pushes raw link data to the UART. */
  pushRaw(data: Uint8Array): void;
  closeLink(link: Link, announce: boolean): void;
  /** `+++` seen: back to command mode. */
  leavePassthrough(): void;
}

/**
 * One passthrough session over one link.
 *
 * @example
 * const session = new PassthroughSession(host, link);
 * session.input(bytes, done);  // to the link (done is delayed while 8192 bytes wait)
 * session.deliver();           // link data to the UART, raw
 */
export class PassthroughSession {
  private readonly tx: Uint8Array[] = [];
  private txBytes = 0;
  private sending = false;
  private broken = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private plusHeld = 0;
  private plusTimer: NodeJS.Timeout | undefined;
  private lastRx = performance.now();
  private heldWrite: (() => void) | null = null;
  private left = false;

  constructor(
    private readonly host: PassthroughHost,
    readonly link: Link,
  ) {}

  /** Host bytes. `done` is the UART write callback: held while the intake buffer is full. */
  input(chunk: Uint8Array, done: () => void): void {
    const now = performance.now();
    const quietBefore = now - this.lastRx >= GUARD_MS;
    this.lastRx = now;
    if (isPluses(chunk) && this.plusHeld + chunk.length <= 3 && (this.plusHeld > 0 || quietBefore)) {
      this.holdPluses(chunk.length);
    } else {
      this.releasePluses();
      this.enqueue(chunk);
    }
    if (this.txBytes >= UART_INTAKE) this.heldWrite = done;
    else done();
  }

  /** Link data to the UART, raw, as long as it takes it; the link's end closes it quietly. */
  deliver(): void {
    const sock = this.host.table.find(this.link.sock);
    while (sock && !this.host.outputBlocked) {
      if (sock.kind === 'udp') {
        const d = sock.readDgram(Number.MAX_SAFE_INTEGER);
        if (!d) return;
        this.host.pushRaw(d.data);
        continue;
      }
      const r = sock.read(64 * 1024);
      if (!r) return;
      if (!('data' in r)) {
        this.host.closeLink(this.link, true);
        return;
      }
      this.host.pushRaw(r.data);
    }
  }

  /** The link went away: whatever the host types from now on has nowhere to go. */
  linkGone(): void {
    this.broken = true;
    this.tx.length = 0;
    this.txBytes = 0;
    this.releaseWrite();
  }

  /** Stops timers (reboot, destroy); nothing more is sent. */
  abandon(): void {
    this.left = true;
    clearTimeout(this.plusTimer);
    clearTimeout(this.flushTimer);
    this.linkGone();
  }

  private holdPluses(count: number): void {
    clearTimeout(this.plusTimer);
    this.plusHeld += count;
    // Three and then silence: leave. Fewer and silence: they were data after all.
    this.plusTimer = setTimeout(() => (this.plusHeld === 3 ? this.leave() : this.releasePluses()), GUARD_MS);
  }

  private releasePluses(): void {
    clearTimeout(this.plusTimer);
    if (this.plusHeld === 0) return;
    const pluses = new Uint8Array(this.plusHeld).fill(PLUS);
    this.plusHeld = 0;
    this.enqueue(pluses);
  }

  private leave(): void {
    this.plusHeld = 0;
    this.left = true;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pump(); // what was typed before +++ still goes out
    this.host.leavePassthrough();
  }

  private enqueue(chunk: Uint8Array): void {
    if (this.broken || chunk.length === 0) return;
    this.tx.push(chunk.slice()); // the caller may reuse its buffer
    this.txBytes += chunk.length;
    this.pump();
  }

  /** Sends a full packet at once, a partial one after TRANSINTVL (or at once when leaving). */
  private pump(): void {
    if (this.sending || this.txBytes === 0 || this.broken) return;
    if (this.txBytes < PACKET && !this.left) {
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        this.send(this.take(PACKET));
      }, TRANSINTVL_MS);
      return;
    }
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.send(this.take(PACKET));
  }

  private send(data: Uint8Array): void {
    if (data.length === 0 || this.broken) return;
    this.sending = true;
    const { table } = this.host;
    const sent =
      this.link.type === 'UDP'
        ? table.sendto(this.link.sock, data, this.link.remote)
        : table.send(this.link.sock, data);
    sent.then(
      () => {
        this.sending = false;
        if (this.txBytes < UART_INTAKE) this.releaseWrite();
        this.pump();
      },
      () => {
        this.sending = false;
        this.linkGone(); // the link failed; it is reported when its socket reports the end
      },
    );
  }

  private take(max: number): Uint8Array {
    const n = Math.min(max, this.txBytes);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.tx[0]!;
      const piece = Math.min(head.length, n - at);
      out.set(head.subarray(0, piece), at);
      at += piece;
      if (piece === head.length) this.tx.shift();
      else this.tx[0] = head.subarray(piece);
    }
    this.txBytes -= n;
    return out;
  }

  private releaseWrite(): void {
    const done = this.heldWrite;
    this.heldWrite = null;
    done?.();
  }
}

function isPluses(chunk: Uint8Array): boolean {
  return chunk.length > 0 && chunk.every((b) => b === PLUS);
}

/** The execute form `AT+CIPSEND`: enter passthrough on the single link. */
export const PASSTHROUGH: { readonly [N in CommandName]?: FormHandlers } = {
  CIPSEND: {
    execute: (dev: AtDevice) => {
      if (dev.settings.live.cipmode !== 1) throw fail('execFailed', 'AT+CIPSEND without length needs AT+CIPMODE=1');
      const link = dev.links.get(0);
      if (link?.state !== 'open') throw fail('execFailed', 'passthrough needs an open link');
      if (link.type === 'UDP' && link.udpMode !== 0)
        throw fail('execFailed', 'UDP passthrough needs a fixed remote (mode 0)');
      dev.say({ type: 'ok' }, { type: 'prompt' });
      dev.enterPassthrough(link);
      return 'done';
    },
  },
};
