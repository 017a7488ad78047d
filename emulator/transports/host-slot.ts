/**
 * The one host seat of a TCP-based transport (raw TCP, RFC 2217). A host that closes and at once
 * reconnects is not a second host: its old connection's FIN and the new SYN race through the
 * event loop (and a burst of quick reconnects reaches us all at once from the kernel's accept
 * queue), so a newcomer that finds the seat taken waits, in arrival order, up to
 * {@link HANDOVER_MS} for the hosts before it to hang up ('end', 'error' or 'close', whichever
 * comes first) before it is refused with {@link BUSY_NOTE}. At most {@link MAX_WAITING} wait; a
 * further one is refused at once.
 */
import type { Socket } from 'node:net';
import { BUSY_NOTE } from '../../firmware-protocol/index.js';

/** How long a newcomer waits for the attached host to finish hanging up. */
export const HANDOVER_MS = 500;
/** Newcomers that may wait at once. */
export const MAX_WAITING = 8;

interface Waiting {
  socket: Socket;
  timer: NodeJS.Timeout;
}

export class HostSlot {
  #current: Socket | null = null;
  readonly #waiting: Waiting[] = [];

  /**
   * @param attach seats `socket` (wire it to the UART); the slot notices when it leaves.
   * @param detach unwires the host that hung up.
   */
  constructor(
    private readonly attach: (socket: Socket) => void,
    private readonly detach: (socket: Socket) => void,
    /** A newcomer was told busy (for logs). */
    private readonly onBusy?: (peer: string) => void,
  ) {}

  get occupied(): boolean {
    return this.#current !== null;
  }

  /** A new connection: seated now, after the hosts before it hang up, or refused. */
  offer(socket: Socket): void {
    if (!this.#current) {
      this.#seat(socket);
      return;
    }
    if (this.#waiting.length >= MAX_WAITING) {
      this.#refuse(socket);
      return;
    }
    const w: Waiting = {
      socket,
      timer: setTimeout(() => {
        if (this.#drop(w)) this.#refuse(socket);
      }, HANDOVER_MS),
    };
    this.#waiting.push(w);
    socket.once('close', () => this.#drop(w));
  }

  /** Unseats `socket` (once), then seats the next newcomer still there. */
  hungUp(socket: Socket): void {
    if (this.#current !== socket) return;
    this.#current = null;
    this.detach(socket);
    for (let next = this.#waiting.shift(); next; next = this.#waiting.shift()) {
      clearTimeout(next.timer);
      if (next.socket.destroyed) continue;
      this.#seat(next.socket);
      return;
    }
  }

  /** Stops: the current host is unseated, waiting ones dropped. */
  close(): void {
    for (const w of this.#waiting.splice(0)) {
      clearTimeout(w.timer);
      w.socket.destroy();
    }
    if (this.#current) this.hungUp(this.#current);
  }

  #drop(w: Waiting): boolean {
    const i = this.#waiting.indexOf(w);
    if (i < 0) return false;
    this.#waiting.splice(i, 1);
    clearTimeout(w.timer);
    return true;
  }

  #seat(socket: Socket): void {
    this.#current = socket;
    // A UART has no half-close: a host that ended its side, or failed, is gone.
    const gone = () => this.hungUp(socket);
    socket.once('end', gone);
    socket.once('error', gone);
    socket.once('close', gone);
    this.attach(socket);
  }

  #refuse(socket: Socket): void {
    this.onBusy?.(`${socket.remoteAddress}:${socket.remotePort}`);
    socket.end(BUSY_NOTE, () => socket.destroy());
  }
}
