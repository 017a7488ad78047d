/**
 * The SLIP keep-alive's verdict waits one I/O turn: a frame read while the host's event loop was
 * stalled past the PING's deadline (it is read in the poll phase, before the verdict's
 * setImmediate) proves the device alive. Simulated by making the frame arrive exactly when the
 * verdict is scheduled.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import { KeepAlive } from './keepalive.js';
import type { RpcClient } from './rpc-client.js';

const realSetImmediate = globalThis.setImmediate;
afterEach(() => {
  globalThis.setImmediate = realSetImmediate;
});

interface Seen {
  silent: number;
  pings: number;
  /** The deadline each PING was given, ms. */
  deadlines: number[];
}

/** A device that never answers a PING (each fails with ETIMEDOUT at its deadline), until `done` (5 s at most). */
async function watch(
  done: (seen: Seen) => boolean,
  onVerdict?: (rpc: { lastRx: number }) => void,
  link?: { currentRtoMs: number; backlog: number },
): Promise<Seen> {
  const rpc = { lastRx: Date.now(), reliable: { link } };
  if (onVerdict)
    globalThis.setImmediate = ((cb: (...a: unknown[]) => void, ...args: unknown[]) => {
      onVerdict(rpc);
      return realSetImmediate(cb, ...args);
    }) as typeof setImmediate;
  const seen: Seen = { silent: 0, pings: 0, deadlines: [] };
  const ka = new KeepAlive(
    new PassThrough(),
    rpc as unknown as RpcClient,
    {
      paused: () => false,
      ping: (deadline) => {
        seen.pings++;
        seen.deadlines.push(deadline);
        return new Promise((_, reject) => setTimeout(() => reject(new OSError(E.ETIMEDOUT)), deadline));
      },
      answered: () => {},
      silent: () => {
        seen.silent++;
      },
    },
    { everyMs: 40, answerMs: 60 },
  );
  ka.start();
  const deadline = Date.now() + 5000;
  while (!done(seen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  ka.stop();
  return seen;
}

describe('SLIP keep-alive verdict', () => {
  it('an unanswered PING with nothing heard declares the device silent', async () => {
    const seen = await watch((s) => s.silent > 0);
    expect(seen.pings).toBeGreaterThanOrEqual(1);
    expect(seen.silent).toBeGreaterThanOrEqual(1);
  });

  it('a frame read in the same turn as the deadline (a stalled host) cancels the verdict', async () => {
    let verdicts = 0;
    const seen = await watch(
      () => verdicts >= 3,
      (rpc) => {
        rpc.lastRx = Date.now() + 1; // heard after the PING went out
        verdicts++;
      },
    );
    expect(verdicts).toBeGreaterThanOrEqual(3);
    expect(seen.silent).toBe(0);
  });

  it("adds at most 0.5 s for the link's RTO to a PING's deadline (the initial RTO is 1 s before any sample)", async () => {
    const seen = await watch((s) => s.pings > 0, undefined, { currentRtoMs: 1000, backlog: 0 });
    expect(seen.deadlines[0]).toBe(60 + 500);
  });
});
