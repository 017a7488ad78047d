/**
 * The `select` module: poll objects over sockets, with MicroPython's values and rules
 * (POLLIN 1, POLLOUT 4, POLLERR 8, POLLHUP 16; 32 = NVAL for a closed socket; ERR/HUP/NVAL
 * reported even when not asked for; ipoll flag 1 = one-shot). Readiness comes from the
 * driver's local state, so poll over many sockets costs no device round trip.
 */
import { POLL_BITS as P } from '../firmware-protocol/index.js';
import { osError } from './errors.js';
import type { Socket } from './socket.js';

const ALWAYS = P.POLLERR | P.POLLHUP | P.POLLNVAL;

export class Poll {
  private readonly entries = new Map<Socket, number>();

  /** Registering again just updates the mask. */
  register(obj: Socket, eventmask: number = P.POLLIN | P.POLLOUT): void {
    this.entries.set(obj, eventmask);
  }

  /** Unknown objects are ignored. */
  unregister(obj: Socket): void {
    this.entries.delete(obj);
  }

  /** OSError(ENOENT) for an object that is not registered. */
  modify(obj: Socket, eventmask: number): void {
    if (typeof eventmask !== 'number') throw new TypeError('modify() takes 2 arguments: obj and eventmask');
    if (!this.entries.has(obj)) throw osError('ENOENT');
    this.entries.set(obj, eventmask);
  }

  private ready(): [Socket, number][] {
    const out: [Socket, number][] = [];
    for (const [s, mask] of this.entries) {
      const r = s.pollState() & (mask | ALWAYS);
      if (r) out.push([s, r]);
    }
    return out;
  }

  /** timeout in ms; negative or null = forever. Resolves with [socket, revents] pairs. */
  async poll(timeout: number | null = -1): Promise<[Socket, number][]> {
    const deadline = timeout === null || timeout < 0 ? Number.POSITIVE_INFINITY : Date.now() + timeout;
    for (;;) {
      const r = this.ready();
      if (r.length > 0 || Date.now() >= deadline) return r;
      await this.waitAny(deadline);
    }
  }

  /** Like poll; flags & 1 = one-shot: each reported object's mask becomes 0 until modify(). */
  async ipoll(timeout: number | null = -1, flags = 0): Promise<Iterable<[Socket, number]>> {
    const r = await this.poll(timeout);
    if (flags & 1) for (const [s] of r) this.entries.set(s, 0);
    return r;
  }

  private async waitAny(deadline: number): Promise<void> {
    const stop = new AbortController();
    const socks = [...this.entries.keys()];
    if (socks.length === 0) {
      await new Promise((r) => setTimeout(r, Math.min(deadline - Date.now(), 2 ** 31 - 1)));
      return;
    }
    await Promise.race(socks.map((s) => s.ds.wait(deadline, stop.signal)));
    stop.abort();
  }
}

export const selectModule = {
  POLLIN: P.POLLIN,
  POLLOUT: P.POLLOUT,
  POLLERR: P.POLLERR,
  POLLHUP: P.POLLHUP,
  poll: (): Poll => new Poll(),
};
export type SelectModule = typeof selectModule;
