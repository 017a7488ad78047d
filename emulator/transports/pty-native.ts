/**
 * The few libc calls Node lacks for creating a pty, through koffi (prebuilt FFI, no compiler).
 *
 * Why not node-pty: its `open()` leaves cooked termios and starts its own reader on the slave;
 * why not a tty.ReadStream on the master: it closes the master on the first EIO (see pty.ts).
 */
import { constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';

type Koffi = typeof import('koffi');
let koffiModule: Koffi | undefined;

/**
 * koffi (a native addon) is required on first use, not imported: loading it costs a few
 * milliseconds of every `netcoproc emulate` start, and most runs open no pty (docs/package.md).
 */
function koffi(): Koffi {
  koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffiModule;
}

/** fcntl commands and tcsetattr action; the same numbers on Linux and macOS. */
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const TCSANOW = 0;
/** `struct termios` is 60 bytes on Linux glibc, 72 on macOS; room to spare. */
const TERMIOS_SIZE = 256;

interface Libc {
  posix_openpt(flags: number): number;
  grantpt(fd: number): number;
  unlockpt(fd: number): number;
  ptsname(fd: number): string | null;
  tcgetattr(fd: number, termios: Buffer): number;
  cfmakeraw(termios: Buffer): void;
  tcsetattr(fd: number, action: number, termios: Buffer): number;
  fcntl(fd: number, cmd: number, ...vararg: unknown[]): number;
  close(fd: number): number;
  read(fd: number, buf: Uint8Array, count: number): number;
  write(fd: number, buf: Uint8Array, count: number): number;
}

let libc: Libc | undefined;

/** Loaded on first use, so importing the transports never fails on a machine without ptys. */
function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi().load(process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6');
  const fn = <T>(proto: string) => lib.func(proto) as T;
  libc = {
    posix_openpt: fn('int posix_openpt(int flags)'),
    grantpt: fn('int grantpt(int fd)'),
    unlockpt: fn('int unlockpt(int fd)'),
    ptsname: fn('const char *ptsname(int fd)'),
    tcgetattr: fn('int tcgetattr(int fd, void *termios)'),
    cfmakeraw: fn('void cfmakeraw(void *termios)'),
    tcsetattr: fn('int tcsetattr(int fd, int action, void *termios)'),
    fcntl: fn('int fcntl(int fd, int cmd, ...)'),
    close: fn('int close(int fd)'),
    // long/unsigned long = ssize_t/size_t on LP64 (Linux, macOS). A Buffer is passed as a pointer to its bytes.
    read: fn('long read(int fd, void *buf, unsigned long count)'),
    write: fn('long write(int fd, const void *buf, unsigned long count)'),
  };
  return libc;
}

/** An Error shaped like Node's system errors (`code`, `errno`, `syscall`); errno defaults to the last call's. */
export function sysError(syscall: string, errno = koffi().errno()): NodeJS.ErrnoException {
  const code = errno ? getSystemErrorName(-errno) : 'EUNKNOWN';
  return Object.assign(new Error(`${syscall} failed: ${code}`), { code, errno: -errno, syscall });
}

function check(result: number, syscall: string): number {
  if (result < 0) throw sysError(syscall);
  return result;
}

/** Raw termios (cfmakeraw) on the master; Linux applies it to the slave the host will open. */
function makeRaw(c: Libc, fd: number): void {
  const termios = Buffer.alloc(TERMIOS_SIZE);
  check(c.tcgetattr(fd, termios), 'tcgetattr');
  c.cfmakeraw(termios);
  check(c.tcsetattr(fd, TCSANOW, termios), 'tcsetattr');
}

/** Non-blocking, and close-on-exec so a child process (e.g. a spawned agent) cannot keep the pty alive. */
function setFlags(c: Libc, fd: number): void {
  check(c.fcntl(fd, F_SETFD, 'int', FD_CLOEXEC), 'fcntl(F_SETFD)');
  const flags = check(c.fcntl(fd, F_GETFL, 'int', 0), 'fcntl(F_GETFL)');
  check(c.fcntl(fd, F_SETFL, 'int', flags | fsConstants.O_NONBLOCK), 'fcntl(F_SETFL)');
  // The read/write loops use synchronous syscalls: a blocking fd would freeze the event loop.
  const now = check(c.fcntl(fd, F_GETFL, 'int', 0), 'fcntl(F_GETFL)');
  if (!(now & fsConstants.O_NONBLOCK)) throw new Error('pty master did not accept O_NONBLOCK');
}

/**
 * read(2)/write(2) on a non-blocking fd, returning the byte count or `-errno` instead of throwing:
 * Node's `readSync`/`writeSync` build an Error with a stack trace for every EAGAIN (~10 µs here,
 * measured), and a pty that flows meets EAGAIN on most wakes (docs/performance.md item 20).
 */
export interface FdIo {
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array): number;
}

/** The libc {@link FdIo} (loaded with the pty's other libc calls). */
export function fdIo(): FdIo {
  const c = loadLibc();
  const k = koffi();
  return {
    read(fd, buf) {
      const n = c.read(fd, buf, buf.length);
      return n < 0 ? -k.errno() : n;
    },
    write(fd, buf) {
      const n = c.write(fd, buf, buf.length);
      return n < 0 ? -k.errno() : n;
    },
  };
}

/** libuv's poll events (uv.h), as serialport's binding takes them. */
export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;

/** A libuv poll handle on one fd: the event loop wakes when the fd is readable or writable. */
export interface FdPoller {
  /** Watches exactly `events` (0 = none) from now on; a wake reports what became ready. */
  watch(events: number): void;
  /** Stops watching for good (before the fd is closed). */
  close(): void;
}

type NativePoller = new (
  fd: number,
  onEvent: (error: Error | null, events: number) => void,
) => { poll(events: number): void; stop(): void; destroy(): void };
let nativePoller: NativePoller | null | undefined;

/**
 * serialport's native binding (a dependency already loaded by every host) carries a bare libuv
 * poll handle; Node itself has none for a pty master (a tty stream closes it on EIO and spins on
 * EAGAIN writes, see pty.ts). Resolved from serialport's own location; null if the layout differs.
 */
function loadNativePoller(): NativePoller | null {
  if (nativePoller !== undefined) return nativePoller;
  try {
    const fromSerialport = createRequire(createRequire(import.meta.url).resolve('serialport'));
    const mod = fromSerialport('@serialport/bindings-cpp/dist/serialport-bindings.js') as {
      binding?: { Poller?: NativePoller };
    };
    nativePoller = typeof mod.binding?.Poller === 'function' ? mod.binding.Poller : null;
  } catch {
    nativePoller = null;
  }
  return nativePoller;
}

/**
 * A poll handle on `fd` calling `onReady(events)`, or null when the binding is not available (the
 * caller then polls with timers). A poll error (e.g. EBADF) is reported as both events, so the
 * caller's read or write meets the error itself.
 */
export function pollFd(fd: number, onReady: (events: number) => void): FdPoller | null {
  const Poller = loadNativePoller();
  if (!Poller) return null;
  let closed = false;
  let watching = 0;
  const handle = new Poller(fd, (error, events) => {
    if (closed) return;
    // The binding re-arms what did not fire (plus anything ever asked, a quirk): set it exactly again.
    watching = -1;
    onReady(error ? POLL_READABLE | POLL_WRITABLE : events);
  });
  return {
    watch(events) {
      if (closed || events === watching) return;
      watching = events;
      if (events === 0) handle.stop();
      else handle.poll(events);
    },
    close() {
      if (closed) return;
      closed = true;
      handle.stop();
      handle.destroy();
    },
  };
}

/**
 * Creates a pty pair: returns the master fd (raw, non-blocking, owned by the caller) and the slave path.
 *
 * @example
 * ```ts
 * const { fd, path } = openPtyMaster();   // path e.g. '/dev/pts/5'
 * ```
 */
export function openPtyMaster(): { fd: number; path: string } {
  const c = loadLibc();
  const fd = check(c.posix_openpt(fsConstants.O_RDWR | fsConstants.O_NOCTTY), 'posix_openpt');
  try {
    check(c.grantpt(fd), 'grantpt');
    check(c.unlockpt(fd), 'unlockpt');
    const path = c.ptsname(fd);
    if (!path) throw sysError('ptsname');
    makeRaw(c, fd);
    setFlags(c, fd);
    return { fd, path };
  } catch (error) {
    c.close(fd);
    throw error;
  }
}
