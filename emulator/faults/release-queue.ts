/**
 * Ordered delayed delivery: each item is released no earlier than its due time and never before
 * an item added ahead of it, so latency and jitter delay bytes without reordering them; a stall
 * holds everything until it ends. Items with no delay and nothing queued go out at once (no timer).
 *
 * ```ts
 * const q = new ReleaseQueue<Uint8Array>((b) => sink.write(b), (b) => b.length);
 * q.add(a, 30);   // out after 30 ms
 * q.add(b, 5);    // out right after a, not before it
 * ```
 */
export class ReleaseQueue<T> {
  private items: { at: number; item: T }[] = [];
  private lastAt = 0;
  private stalledUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private size = 0;

  constructor(
    private readonly deliver: (item: T) => void,
    private readonly sizeOf: (item: T) => number = () => 0,
    /** Called whenever items left the queue (to release backpressure). */
    private readonly onRelease: () => void = () => {},
  ) {}

  /** Bytes (per `sizeOf`) waiting in the queue. */
  get pending(): number {
    return this.size;
  }

  get stalled(): boolean {
    return performance.now() < this.stalledUntil;
  }

  add(item: T, delayMs: number): void {
    const now = performance.now();
    const at = Math.max(now + delayMs, this.lastAt);
    this.lastAt = at;
    if (this.items.length === 0 && at <= now && now >= this.stalledUntil) {
      this.deliver(item);
      return;
    }
    this.items.push({ at, item });
    this.size += this.sizeOf(item);
    this.arm();
  }

  /** Nothing leaves for `ms` from now (a stalled line); what waits goes out in order afterwards. */
  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, performance.now() + ms);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.arm();
  }

  /** Drops everything queued and stops the timer. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.items = [];
    this.size = 0;
  }

  private arm(): void {
    if (this.timer || this.items.length === 0) return;
    const due = Math.max((this.items[0] as { at: number }).at, this.stalledUntil);
    this.timer = setTimeout(this.fire, Math.max(0, due - performance.now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    let released = false;
    if (now >= this.stalledUntil) {
      // Timers may fire a little early or late; anything due within a millisecond goes now.
      while (this.items.length > 0 && (this.items[0] as { at: number }).at <= now + 1 && now >= this.stalledUntil) {
        const { item } = this.items.shift() as { item: T };
        this.size -= this.sizeOf(item);
        released = true;
        this.deliver(item);
      }
    }
    this.arm();
    if (released) this.onRelease();
  };
}
