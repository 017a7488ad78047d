/**
 * pty transport: the emulated UART appears as `/dev/pts/N`, for serialport, pyserial, picocom, minicom.
 *
 * The master fd is raw and non-blocking and is driven with synchronous libc read/write (pty-native.ts
 * `fdIo`: they return at once, EAGAIN as -errno rather than a thrown Error, which Node's
 * readSync/writeSync build with a stack every time), because the stream APIs fail on a pty master:
 * - a tty.ReadStream closes the master on the first EIO (last host closed), and the path vanishes;
 * - `master.write()` busy-spins on EAGAIN inside libuv and freezes the event loop.
 * While a host has the slave open, a libuv poll handle (pty-native.ts) wakes the loop when the master
 * is readable or writable again: no timer between a host's request and its read, no retry timer while
 * the host drains. With no host the master reports hang-up to every poll, so then it is read on a
 * timer: EIO = still no host, EAGAIN or data = a host opened it.
 */
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { lstat, readlink, symlink, unlink } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import { type AttachEvents, DeviceOutput } from './device-output.js';
import {
  type FdIo,
  type FdPoller,
  fdIo,
  openPtyMaster,
  POLL_READABLE,
  POLL_WRITABLE,
  pollFd,
  sysError,
} from './pty-native.js';
import { PtyOutbox } from './pty-outbox.js';

/** One large read per syscall while data flows. */
const READ_SIZE = 64 * 1024;
/** Reads per wake before yielding, so a flooding host cannot starve the rest of the emulator. */
const READS_PER_TURN = 16;
/** Timer polling (no host yet, or no poll handle): starts short for latency, grows while idle. */
const IDLE_MIN_MS = 1;
const IDLE_MAX_MS = 16;
/** Device bytes queued for the host before the UART is paused. */
const QUEUE_HIGH = 256 * 1024;
/** Bytes coalesced into one write syscall. */
const WRITE_SIZE = 64 * 1024;

/** Options for {@link openPty}. */
export interface PtyOptions extends AttachEvents {
  /** Also create a symlink here pointing at the slave (replaces an old symlink, never a file); removed on close. */
  link?: string;
  /**
   * Asked after each write of host bytes to the UART: true when the UART kept nothing of them
   * (the emulator's `uartKeptNothing`). The bytes then go as a view of the read buffer, which is
   * read into again, instead of a fresh copy per read (docs/performance.md item 32).
   */
  keptNothing?: () => boolean;
  /**
   * Told of every chunk of UART output once it is written to the host, copied, or dropped (no host):
   * the emulator's `recycleUartOutput`, for a pty that is the UART's only reader (item 32).
   */
  outputDone?: (chunk: Uint8Array) => void;
}

/** An open pty transport. */
export interface PtyTransport {
  /** The slave path the host opens, e.g. `/dev/pts/5`. */
  readonly path: string;
  /** True while a host has the slave open. */
  readonly attached: boolean;
  /** Stops polling, closes the master (the path disappears) and removes the link. Idempotent. */
  close(): Promise<void>;
}

type ReadResult = 'data' | 'again' | 'hangup';

/** Drives one pty master: reads (host → UART) and a write queue (UART → host), woken by the poll handle. */
class PtyPort {
  readonly #fd: number;
  readonly #path: string;
  readonly #uart: Duplex;
  readonly #events: AttachEvents;
  readonly #out: DeviceOutput;
  #readBuf = Buffer.allocUnsafe(READ_SIZE);
  readonly #keptNothing: (() => boolean) | undefined;
  readonly #io: FdIo = fdIo();
  readonly #poller: FdPoller | null;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #idleMs = IDLE_MIN_MS;
  #uartFull = false;
  /** The last write met EAGAIN: wait for the host to drain (writable) before writing again. */
  #writeBlocked = false;
  readonly #outbox: PtyOutbox;
  #flushQueued = false;

  constructor(fd: number, path: string, uart: Duplex, events: PtyOptions) {
    this.#fd = fd;
    this.#path = path;
    this.#uart = uart;
    this.#events = events;
    this.#keptNothing = events.keptNothing;
    this.#outbox = new PtyOutbox(WRITE_SIZE, events.outputDone);
    this.#out = new DeviceOutput(uart, events.outputDone);
    this.#poller = pollFd(fd, this.#onReady);
    this.#rearm();
  }

  get attached(): boolean {
    return this.#out.attached;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#poller?.close();
    this.#uart.off('drain', this.#onUartDrain);
    if (this.attached) this.#hangup();
    this.#out.close();
    closeSync(this.#fd);
  }

  /**
   * Decides what wakes us next: with a host and a poll handle, readability (unless the UART is full)
   * and writability (if a write met EAGAIN); otherwise a timer. Called after every wake.
   */
  #rearm(): void {
    if (this.#closed) return;
    const wantRead = !this.#uartFull;
    const wantWrite = this.#writeBlocked && this.#outbox.size > 0;
    if (this.#poller && this.attached) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#poller.watch((wantRead ? POLL_READABLE : 0) | (wantWrite ? POLL_WRITABLE : 0));
      return;
    }
    this.#poller?.watch(0); // no host: the master reports hang-up to every poll
    if (!this.#timer && (wantRead || wantWrite)) {
      this.#timer = setTimeout(this.#onTimer, this.#idleMs);
      this.#idleMs = Math.min(this.#idleMs * 2, IDLE_MAX_MS);
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#onReady(POLL_READABLE | POLL_WRITABLE);
  };

  readonly #onReady = (events: number): void => {
    if (this.#closed) return;
    if (events & POLL_READABLE && !this.#uartFull) this.#readSome();
    if (events & POLL_WRITABLE && this.#writeBlocked) {
      this.#writeBlocked = false;
      this.#flush();
    }
    this.#rearm();
  };

  /**
   * Host → UART: read until EAGAIN/EIO (at most READS_PER_TURN reads; the next wake goes on), then
   * hand it all to the UART in one write: a pty gives ~2-4 KiB per read, and each UART write is a
   * pass through the device's stream and decoder.
   */
  #readSome(): void {
    let got = 0;
    let end = 0; // 0 = stopped with data still flowing; else the read's -errno, or 1 for a 0-byte read
    for (let i = 0; i < READS_PER_TURN && got < READ_SIZE; i++) {
      const n = this.#io.read(this.#fd, this.#readBuf.subarray(got));
      if (n <= 0) {
        end = n === 0 ? 1 : n;
        break;
      }
      got += n;
    }
    if (got > 0) this.#deliver(got);
    if (end === 0 || this.#closed) return;
    const result = end === 1 ? 'again' : classify(end, 'read');
    if (result === 'hangup' && this.attached) this.#hangup();
    if (result === 'again' && !this.attached) this.#attach();
  }

  #deliver(n: number): void {
    if (!this.attached) this.#attach();
    this.#idleMs = IDLE_MIN_MS;
    // Lent when the UART keeps nothing of what it is written, else a copy: the read buffer is reused.
    const lend = this.#keptNothing !== undefined;
    const ok = this.#uart.write(lend ? this.#readBuf.subarray(0, n) : Buffer.from(this.#readBuf.subarray(0, n)));
    // It kept them after all (it was busy): they stay its, and the next read goes elsewhere.
    if (lend && !this.#keptNothing()) this.#readBuf = Buffer.allocUnsafe(READ_SIZE);
    if (!ok) {
      this.#uartFull = true;
      this.#uart.once('drain', this.#onUartDrain);
    }
  }

  readonly #onUartDrain = (): void => {
    this.#uartFull = false;
    this.#idleMs = IDLE_MIN_MS;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#rearm();
  };

  #attach(): void {
    this.#out.attach(this.#enqueue);
    this.#events.onAttach?.(this.#path);
  }

  /** No host any more: what was queued for it is dropped, like bytes on a line nobody listens to. */
  #hangup(): void {
    this.#outbox.clear();
    this.#writeBlocked = false;
    this.#out.detach();
    this.#events.onDetach?.(this.#path);
  }

  /**
   * UART → host: queue, write on a microtask so the chunks of one delivery share one syscall. The
   * emulator's line (uart-line.ts) already hands over a turn's output in one synchronous burst on
   * its own setImmediate; a second setImmediate here cost every answer a further loop iteration.
   */
  readonly #enqueue = (chunk: Buffer): boolean => {
    this.#outbox.push(chunk);
    if (!this.#writeBlocked && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#onFlush);
    }
    return this.#outbox.size < QUEUE_HIGH;
  };

  readonly #onFlush = (): void => {
    this.#flushQueued = false;
    if (this.#closed || this.#writeBlocked) return;
    this.#flush();
    this.#rearm();
  };

  #flush(): void {
    while (this.#outbox.size > 0 && !this.#closed && this.attached) {
      const result = this.#writeOnce();
      if (result === 'hangup') {
        this.#hangup();
        return;
      }
      if (result === 'again') {
        this.#writeBlocked = true; // woken by writability (or the timer without a poll handle)
        break;
      }
    }
    if (this.#outbox.size < QUEUE_HIGH / 2) this.#out.resume();
  }

  /** One write; a short one means the pty is full, so it reports 'again' without a second (EAGAIN) call. */
  #writeOnce(): ReadResult {
    const run = this.#outbox.next();
    const n = this.#io.write(this.#fd, run);
    if (n < 0) return classify(n, 'write');
    this.#outbox.consumed(n);
    return n >= run.length ? 'data' : 'again';
  }
}

const { EAGAIN, EWOULDBLOCK, EINTR, EIO } = osConstants.errno;

/** `-errno` of a read/write. EAGAIN: nothing now; EIO: no host has the slave open. Anything else is a real fault and is thrown. */
function classify(negErrno: number, syscall: string): ReadResult {
  const errno = -negErrno;
  if (errno === EAGAIN || errno === EWOULDBLOCK || errno === EINTR) return 'again';
  if (errno === EIO) return 'hangup';
  throw sysError(syscall, errno);
}

async function createLink(link: string, target: string): Promise<void> {
  const existing = await lstat(link).catch(() => null);
  if (existing && !existing.isSymbolicLink()) throw new Error(`pty link ${link} exists and is not a symlink`);
  if (existing) await unlink(link);
  await symlink(target, link);
}

async function removeLink(link: string, target: string): Promise<void> {
  const current = await readlink(link).catch(() => null);
  if (current === target) await unlink(link).catch(() => undefined);
}

/**
 * Opens a pty whose slave is a serial port for the host, attached to the emulated UART `uart`
 * (host writes are written into `uart`, what `uart` emits goes to the host).
 * Device output while no host has the slave open is dropped, as on a real UART.
 * Linux (and likely macOS); needs libc through koffi.
 *
 * @example
 * ```ts
 * const pty = await openPty(uart, { link: './ttyNETCOPROC', onAttach: () => device.reset() });
 * console.log(`pty ${pty.path}`);   // host: new SerialPort({ path: pty.path, baudRate: 115200 })
 * await pty.close();
 * ```
 */
export async function openPty(uart: Duplex, opts: PtyOptions = {}): Promise<PtyTransport> {
  const { fd, path } = openPtyMaster();
  try {
    // Open and close the slave once so the master reports EIO until a host opens it; before any
    // open Linux reports EAGAIN, which would look like a host being attached.
    closeSync(openSync(path, fsConstants.O_RDWR | fsConstants.O_NOCTTY | fsConstants.O_NONBLOCK));
    if (opts.link) await createLink(opts.link, path);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const port = new PtyPort(fd, path, uart, opts);
  let closing: Promise<void> | undefined;
  return {
    path,
    get attached() {
      return port.attached;
    },
    close() {
      closing ??= (async () => {
        port.close();
        if (opts.link) await removeLink(opts.link, path);
      })();
      return closing;
    },
  };
}
