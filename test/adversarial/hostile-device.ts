/**
 * A hostile device for the host drivers, on a real TCP socket: the host opens it as
 * `socket://127.0.0.1:PORT`, and behind the socket an emulated board (SLIP or ESP-AT) answers —
 * until the test turns it against the host: silence, garbage, an endless line or frame, absurd
 * lengths, a disconnect mid-reply, a restart with or without its BOOT / `ready`.
 *
 * ```ts
 * const bad = await HostileDevice.start('at');
 * const dev = await openDevice(bad.url, { protocol: 'at' });
 * bad.silence();                 // the board stops answering; the host must notice
 * ```
 */
import net from 'node:net';
import { createEmulator, type Emulator } from '../../emulator/index.js';

export type Protocol = 'slip' | 'at';

export class HostileDevice {
  readonly server = net.createServer((c) => this.attach(c));
  board: Emulator;
  private conn: net.Socket | null = null;
  /** Board output is dropped (a silent or hung board). */
  private muted = false;
  /** Host bytes are dropped before they reach the board. */
  private deaf = false;
  private streaming?: NodeJS.Timeout;
  private readonly onBoardData = (b: Buffer) => {
    if (!this.muted) this.conn?.write(b);
  };

  private constructor(readonly protocol: Protocol) {
    this.board = this.newBoard();
  }

  static async start(protocol: Protocol): Promise<HostileDevice> {
    const d = new HostileDevice(protocol);
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', () => r()));
    return d;
  }

  get url(): string {
    return `socket://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private newBoard(): Emulator {
    const board = createEmulator({ protocol: this.protocol, pki: undefined });
    board.uart.on('data', this.onBoardData);
    return board;
  }

  private attach(c: net.Socket): void {
    this.conn?.destroy();
    this.conn = c;
    c.on('data', (b: Buffer) => {
      if (!this.deaf) this.board.uart.write(b);
    });
    c.on('error', () => {});
  }

  /** The board stops answering and hears nothing (a hang, or a board unplugged behind an adapter). */
  silence(): void {
    this.muted = true;
    this.deaf = true;
  }

  /** Back to normal (the same board, its state as the silence left it). */
  speak(): void {
    this.muted = false;
    this.deaf = false;
  }

  /** Raw bytes to the host, as if the board sent them. */
  inject(bytes: Uint8Array | string): void {
    this.conn?.write(bytes);
  }

  /**
   * `total` bytes from `make` pushed at the host as fast as it takes them (backpressure kept),
   * the board silenced meanwhile; resolves when all went out or the host hung up.
   */
  stream(total: number, make: (n: number) => Buffer): Promise<void> {
    this.silence();
    const c = this.conn;
    if (!c) return Promise.resolve();
    return new Promise((resolve) => {
      let left = total;
      const pump = () => {
        while (left > 0 && !c.destroyed) {
          const n = Math.min(65536, left);
          left -= n;
          if (!c.write(make(n))) return void c.once('drain', pump);
        }
        resolve();
      };
      c.once('close', () => resolve());
      pump();
    });
  }

  /** Hangs up the TCP connection (a USB adapter pulled out), optionally after some bytes. */
  disconnect(lastBytes?: Uint8Array | string): void {
    const c = this.conn;
    if (!c) return;
    if (lastBytes) c.end(lastBytes);
    c.destroy();
    this.conn = null;
  }

  /** The board restarts: it says so (BOOT / `ready`) as real firmware does. */
  restart(): void {
    this.board.reboot();
  }

  /**
   * Another board takes this one's place behind the open link (power-cycled while nobody read,
   * or swapped): its BOOT frame or `ready` line is lost, so the host is never told.
   */
  async replaceSilently(): Promise<void> {
    const old = this.board;
    old.uart.off('data', this.onBoardData);
    this.muted = true;
    this.board = this.newBoard();
    await new Promise((r) => setTimeout(r, 100)); // its boot output goes nowhere
    this.muted = false;
    await old.close();
  }

  async close(): Promise<void> {
    clearInterval(this.streaming);
    this.conn?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.board.close();
  }
}

/** Milliseconds `p` takes to settle, and how: `{ ms, err }` (err undefined if it resolved). */
export async function timed<T>(p: Promise<T>): Promise<{ ms: number; err?: Error & { errno?: number }; value?: T }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (err) {
    return { ms: Date.now() - t0, err: err as Error & { errno?: number } };
  }
}
