/**
 * The one readiness primitive of the driver sockets: `wait()` resolves at the next `notify()`
 * (something about the socket may have changed), at a deadline, or when a poll over several
 * sockets no longer needs it (AbortSignal). Blocking and timeouts are built on it in socket.ts.
 *
 * ```ts
 * const ready = new Readiness();
 * await ready.wait(Date.now() + 500);   // woken by ready.notify() or after 500 ms
 * ```
 */
export class Readiness {
  private waiters: (() => void)[] = [];

  notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  wait(deadline: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', cancel);
        resolve();
      };
      const cancel = (): void => {
        this.waiters = this.waiters.filter((w) => w !== done);
        done();
      };
      if (signal?.aborted) return resolve();
      signal?.addEventListener('abort', cancel);
      this.waiters.push(done);
      // setTimeout wraps above 2^31-1 ms: clamp, so a far deadline never fires at once.
      if (deadline !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(done, Math.min(2 ** 31 - 1, Math.max(0, deadline - Date.now())));
      }
    });
  }
}
