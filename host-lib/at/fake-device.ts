/**
 * Test support: a scripted ESP-AT module. It is the link (a Duplex) the driver talks to; it
 * expects the host's exact bytes step by step, answers with scripted replies and injected URCs,
 * and fails with a readable diff on anything unexpected (STYLE.md lesson 8, like rt-esp-at-nal's
 * mock client). Strings are latin-1, so `'\xff'` is the byte 0xff.
 *
 * ```ts
 * const fake = new FakeAtModule([...startupSteps(), { expect: 'AT+CIPDOMAIN="echo.test"\r\n',
 *   reply: '+CIPDOMAIN:"10.77.0.7"\r\n\r\nOK\r\n' }]);
 * const drv = await AtDriver.open(fake);
 * await fake.done();
 * ```
 */
import { Duplex } from 'node:stream';

/** Device bytes: one chunk, or several chunks delivered as separate 'data' events. */
export type Chunks = string | Uint8Array | readonly (string | Uint8Array)[];

export type Step =
  /** The host must write exactly these bytes next; then the reply is sent. */
  | { readonly expect: string | Uint8Array; readonly reply?: Chunks; readonly note?: string }
  /** Like expect, but bytes before them (e.g. a SLIP hello) are skipped. */
  | { readonly skipUntil: string; readonly reply?: Chunks }
  /** Device output sent as soon as the script reaches it. */
  | { readonly inject: Chunks }
  /** A pause before the next step, ms. */
  | { readonly wait: number }
  /** The host writes these bytes and gets no answer (a command the module never finishes). */
  | { readonly swallow: string | Uint8Array };

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
const bytesOf = (x: string | Uint8Array) => (typeof x === 'string' ? Buffer.from(x, 'latin1') : Buffer.from(x));
const show = (b: Uint8Array | string, max = 120) => {
  const t = JSON.stringify(typeof b === 'string' ? b : latin1(b));
  return t.length > max ? `${t.slice(0, max)}…(${t.length} chars)` : t;
};

export class FakeAtModule extends Duplex {
  private readonly steps: Step[] = [];
  private received = Buffer.alloc(0);
  private failure: Error | null = null;
  private running = false;
  private again = false;
  private idleWaiters: (() => void)[] = [];
  /** Every byte the host wrote, in order. */
  written = Buffer.alloc(0);

  /** `bytes`: every reply chunk is delivered one byte per 'data' event (awkward chunking). */
  constructor(
    steps: readonly Step[] = [],
    private readonly options: { split?: 'chunks' | 'bytes' } = {},
  ) {
    super();
    this.script(...steps);
  }

  /** Appends steps to the script. */
  script(...steps: Step[]): void {
    this.steps.push(...steps);
    void this.advance();
  }

  /** Device output now, outside the script (a URC at an arbitrary moment). */
  inject(chunks: Chunks): Promise<void> {
    return this.send(chunks);
  }

  /** Resolves when every step ran and its reply was sent; rejects with the first mismatch or after `timeoutMs`. */
  async done(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.failure && (this.steps.length > 0 || this.running)) {
      if (Date.now() >= deadline) {
        throw new Error(
          `script stalled at step ${show(JSON.stringify(this.steps[0]))}; host bytes not yet matched: ${show(this.received)}`,
        );
      }
      await new Promise<void>((r) => {
        this.idleWaiters.push(r);
        setTimeout(r, 20);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** The mismatch, if any. */
  get error(): Error | null {
    return this.failure;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written = Buffer.concat([this.written, chunk]);
    this.received = Buffer.concat([this.received, chunk]);
    void this.advance();
    cb();
  }

  private async advance(): Promise<void> {
    if (this.running) {
      this.again = true; // host bytes arrived mid-run: look at them before going idle
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        while (!this.failure && (await this.stepOnce())) {}
      } while (this.again && !this.failure);
    } finally {
      this.running = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Runs the head step if it can run now; false when it must wait for host bytes. */
  private async stepOnce(): Promise<boolean> {
    const step = this.steps[0];
    if (!step) {
      if (this.received.length > 0) this.fail(`host wrote ${show(this.received)} after the script ended`);
      return false;
    }
    if ('inject' in step) {
      this.steps.shift();
      await this.send(step.inject);
      return true;
    }
    if ('wait' in step) {
      this.steps.shift();
      await new Promise((r) => setTimeout(r, step.wait));
      return true;
    }
    if ('skipUntil' in step) {
      const at = this.received.indexOf(bytesOf(step.skipUntil));
      if (at < 0) return false;
      this.received = this.received.subarray(at + step.skipUntil.length);
      this.steps.shift();
      if (step.reply !== undefined) await this.send(step.reply);
      return true;
    }
    const want = bytesOf('expect' in step ? step.expect : step.swallow);
    const n = Math.min(want.length, this.received.length);
    if (!this.received.subarray(0, n).equals(want.subarray(0, n))) {
      const note = 'note' in step && step.note ? ` (${step.note})` : '';
      this.fail(`expected host to write ${show(want)}${note}, but it wrote ${show(this.received)}`);
      return false;
    }
    if (n < want.length) return false;
    this.received = this.received.subarray(want.length);
    this.steps.shift();
    if ('expect' in step && step.reply !== undefined) await this.send(step.reply);
    return true;
  }

  private async send(chunks: Chunks): Promise<void> {
    const list = typeof chunks === 'string' || chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const c of list) {
      const b = bytesOf(c);
      const pieces = this.options.split === 'bytes' ? Array.from(b, (_, i) => b.subarray(i, i + 1)) : [b];
      for (const p of pieces) {
        await new Promise((r) => setImmediate(r));
        if (!this.destroyed) this.push(p);
      }
    }
  }

  private fail(message: string): void {
    this.failure ??= new Error(`FakeAtModule: ${message}`);
  }
}

/** An `AT version:` line for AT+GMR. */
export function gmrReply(version = '3.4.0.0'): string {
  return (
    `AT version:${version}(a1b2c3d - ESP32 - Jan  1 2024 00:00:00)\r\n` +
    'SDK version:v5.0.4\r\ncompile time(abcdef12):Jan  1 2024 00:00:00\r\nBin version:3.4.0(WROOM-32)\r\n\r\nOK\r\n'
  );
}

const OK = '\r\nOK\r\n';

/** The start-up exchange of a v3.3+ module (CIPRECVTYPE) fresh from boot; see startup.ts. */
export function startupSteps(version = '3.4.0.0'): Step[] {
  const modern = Number(version.split('.')[0]) * 100 + Number(version.split('.')[1]) >= 303;
  return [
    { expect: 'AT\r\n', reply: OK },
    { expect: 'ATE0\r\n', reply: `ATE0\r\n${OK}` },
    { expect: 'AT+GMR\r\n', reply: gmrReply(version) },
    { expect: 'AT+SYSLOG=1\r\n', reply: OK },
    { expect: 'AT+CIPMUX?\r\n', reply: `+CIPMUX:0\r\n${OK}` },
    { expect: 'AT+CIPMUX=1\r\n', reply: OK },
    { expect: 'AT+CIPSTATE?\r\n', reply: OK },
    modern ? { expect: 'AT+CIPRECVTYPE=5,1\r\n', reply: OK } : { expect: 'AT+CIPRECVMODE=1\r\n', reply: OK },
    { expect: 'AT+CIPDINFO=1\r\n', reply: OK },
  ];
}
