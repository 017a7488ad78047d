/**
 * The stream side of a MicroPython socket, written once for the plain socket (socket.ts) and the
 * host-side TLS socket (ssl-socket.ts): timeouts (None = block, 0 = non-blocking, n = ETIMEDOUT
 * after n seconds), and read, readinto, readline, write, makefile over three primitives each
 * class supplies: a non-blocking `pull`, a `waitChange` on readiness, and one `send`. Like lwIP
 * ports, blocking reads and writes are never short.
 *
 * ```ts
 * s.settimeout(2);
 * const line = await s.readline();   // up to and including '\n', or to EOF
 * const all = await s.read();        // to EOF
 * ```
 */
import { errno as E } from '../firmware-protocol/index.js';
import { toBytes } from './args.js';
import { badArg, OSError, osError } from './errors.js';

export function isEagain(err: unknown): boolean {
  return err instanceof OSError && err.errno === E.EAGAIN;
}

/** How far readline looks ahead for '\n' in one step. */
const LINE_LOOKAHEAD = 4096;

export abstract class StreamMethods {
  /** null = blocking (MicroPython None); 0 = non-blocking; else ms. */
  protected timeoutMs: number | null = null;
  /** Largest single pull of read(n). */
  protected readonly readChunk: number = 65536;

  /** Non-blocking: up to n bytes (`peek` leaves them queued), b'' at EOF, undefined when none are ready. */
  protected abstract pull(n: number, peek: boolean): Uint8Array | undefined;
  /** Resolves when `pull` may give something new, or at `deadline` (ms epoch). */
  protected abstract waitChange(deadline: number): Promise<void>;
  /** Sends what fits now; OSError(EAGAIN) when non-blocking and nothing could be taken. */
  abstract send(data: Uint8Array | string): Promise<number>;
  /** Before any read: e.g. the TLS handshake must be done (undefined: nothing to wait for). */
  protected ready(): Promise<void> | undefined {
    return undefined;
  }

  /** `settimeout(None)` blocks, `settimeout(0)` never waits, `settimeout(2.5)` waits up to 2.5 s. */
  settimeout(value: number | null): void {
    if (value === null || value === undefined) this.timeoutMs = null;
    else if (typeof value !== 'number' || Number.isNaN(value))
      throw badArg('TypeError', 'value', 'must be a number or None');
    else if (value < 0) throw badArg('ValueError', 'value', 'timeout must be non-negative');
    else this.timeoutMs = value * 1000;
  }

  setblocking(flag: boolean): void {
    this.timeoutMs = flag ? null : 0;
  }

  /** The timeout in seconds (None = blocking, 0 = non-blocking), as CPython's gettimeout. */
  gettimeout(): number | null {
    return this.timeoutMs === null ? null : this.timeoutMs / 1000;
  }

  protected deadline(): number {
    return this.timeoutMs === null ? Number.POSITIVE_INFINITY : Date.now() + this.timeoutMs;
  }

  /**
   * Runs `op` until it has an answer (undefined = not yet), waiting on readiness up to this
   * socket's timeout (ETIMEDOUT); null at once when non-blocking.
   */
  protected async untilReady<T>(
    op: () => T | undefined | Promise<T | undefined>,
    nonBlocking = this.timeoutMs === 0,
  ): Promise<T | null> {
    const deadline = nonBlocking ? 0 : this.deadline();
    for (;;) {
      // No await between a synchronous check and the wait: a notify in that gap would be lost.
      const got = op();
      const r = got instanceof Promise ? await got : got;
      if (r !== undefined) return r;
      if (nonBlocking) return null;
      if (Date.now() >= deadline) throw osError('ETIMEDOUT');
      await this.waitChange(deadline);
    }
  }

  /** One read of up to n bytes (b'' at EOF); null when non-blocking and nothing is ready. */
  protected async recvSome(n: number, peek = false, nonBlocking = this.timeoutMs === 0): Promise<Uint8Array | null> {
    const before = this.ready();
    if (before) await before;
    return this.untilReady(() => this.pull(n, peek), nonBlocking);
  }

  /** MicroPython returns the socket itself. */
  makefile(_mode = 'rb', _buffering = 0): this {
    return this;
  }

  /**
   * read(n): up to n bytes, looping until n or EOF while blocking; read() reads to EOF.
   * Non-blocking with nothing ready → null (MicroPython None); partial data is returned.
   */
  async read(n = -1): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let got = 0;
    const want = n < 0 ? Number.POSITIVE_INFINITY : n;
    while (got < want) {
      const chunk = await this.recvSome(Math.min(want - got, this.readChunk));
      if (chunk === null) {
        if (got === 0) return null;
        break;
      }
      if (chunk.length === 0) break;
      parts.push(chunk);
      got += chunk.length;
    }
    return Buffer.concat(parts, got);
  }

  /** Fills buf (or its first nbytes); returns the count, or null when non-blocking and nothing was ready. */
  async readinto(buf: Uint8Array, nbytes = buf.length): Promise<number | null> {
    const data = await this.read(Math.min(nbytes, buf.length));
    if (data === null) return null;
    buf.set(data);
    return data.length;
  }

  /** Reads up to and including '\n' (or EOF); null when non-blocking and nothing was ready. */
  async readline(): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const ahead = await this.recvSome(LINE_LOOKAHEAD, true);
      if (ahead === null) {
        if (parts.length === 0) return null;
        break;
      }
      if (ahead.length === 0) break;
      const nl = ahead.indexOf(0x0a);
      // The bytes just peeked are still queued: taking them now cannot block.
      const piece = this.pull(nl >= 0 ? nl + 1 : ahead.length, false) as Uint8Array;
      parts.push(piece);
      if (nl >= 0) break;
    }
    return Buffer.concat(parts);
  }

  /** Writes everything while blocking; non-blocking returns the partial count, or null if 0. */
  async write(buf: Uint8Array | string): Promise<number | null> {
    const bytes = toBytes(buf, 'buf');
    let at = 0;
    do {
      try {
        at += await this.send(bytes.subarray(at));
      } catch (err) {
        if (isEagain(err)) return at === 0 ? null : at;
        throw err;
      }
    } while (at < bytes.length);
    return at;
  }
}
