/**
 * Workaround for a lost-wakeup bug in @serialport/bindings-cpp 13 (unix).
 *
 * Its native `Poller::poll(events)` restarts the uv_poll watch with ONLY the new event, while the
 * JS side still waits for the other one. Seen here over a pty (DEBUG=serialport/*):
 *   write → EAGAIN → poll(WRITABLE)      watch = WRITABLE
 *   read  → EAGAIN → poll(READABLE)      watch = READABLE   ← the pending write is now never woken
 * and the link deadlocks with both sides idle (tooling-notes §1 describes the mirror case).
 * Fix at the JS layer the binding calls through: every poll asks for all events that still have
 * waiters, so a new wait never drops an old one. Spurious wakeups are harmless (the read/write
 * retries and re-waits); a lost one is not.
 */
import { createRequire } from 'node:module';

interface PollerProto {
  poll(this: PollerLike, flag?: number): void;
  __netcoprocFixed?: boolean;
}
interface PollerLike {
  listenerCount(event: string): number;
}

const require = createRequire(import.meta.url);

export function fixSerialPoller(): void {
  const mod = require('@serialport/bindings-cpp/dist/poller.js') as {
    Poller: { prototype: PollerProto };
    EVENTS: { UV_READABLE: number; UV_WRITABLE: number; UV_DISCONNECT: number };
  };
  const proto = mod.Poller.prototype;
  if (proto.__netcoprocFixed) return;
  const original = proto.poll;
  const { UV_READABLE, UV_WRITABLE, UV_DISCONNECT } = mod.EVENTS;
  proto.poll = function poll(this: PollerLike, flag = 0): void {
    let events = flag;
    if (this.listenerCount('readable') > 0) events |= UV_READABLE;
    if (this.listenerCount('writable') > 0) events |= UV_WRITABLE;
    if (this.listenerCount('disconnect') > 0) events |= UV_DISCONNECT;
    original.call(this, events);
  };
  proto.__netcoprocFixed = true;
}
