/**
 * The listen queue of a device TCP socket: connections wait here until ACCEPT takes them. A full
 * queue refuses new ones (lwIP aborts the new pcb, so the peer sees a reset/refusal).
 */
import type { Duplex } from 'node:stream';
import type { SockAddr } from './types.js';

export interface Pending {
  stream: Duplex;
  peer: SockAddr;
}

export class AcceptQueue {
  private readonly queue: Pending[] = [];
  /** max(backlog, 1), as SPEC §4.4 and lwIP (backlog 0 still queues one). */
  private limit = 1;
  listening = false;

  constructor(private readonly onQueued: (pending: number) => void) {}

  listen(backlog: number): void {
    this.limit = Math.max(1, backlog);
    this.listening = true;
  }

  /** TcpAcceptor: false when not listening yet or full. */
  offer = (stream: Duplex, peer: SockAddr): boolean => {
    if (!this.listening || this.queue.length >= this.limit) return false;
    this.queue.push({ stream, peer });
    stream.on('error', () => {});
    this.onQueued(this.queue.length);
    return true;
  };

  take(): Pending | undefined {
    return this.queue.shift();
  }

  /** Puts a connection back at the head (the table had no free slot for it). */
  putBack(p: Pending): void {
    this.queue.unshift(p);
  }

  get length(): number {
    return this.queue.length;
  }

  close(): void {
    this.listening = false;
    for (const p of this.queue.splice(0)) p.stream.destroy();
  }
}
