/**
 * The liveness verdict waits one I/O turn: an answer that reached the socket while the host's
 * event loop was stalled past the deadline is read (in the poll phase) before the verdict's
 * setImmediate runs, and then the board is not declared lost. Simulated by making the progress
 * appear exactly when the verdict is scheduled, i.e. before its turn.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { errno as E } from '../../firmware-protocol/index.js';
import type { AtChannel } from './channel.js';
import { AtLiveness } from './liveness.js';

const realSetImmediate = globalThis.setImmediate;
afterEach(() => {
  globalThis.setImmediate = realSetImmediate;
});

/** Runs `onSchedule` whenever code schedules an immediate (as if bytes were read before it). */
function beforeEachImmediate(onSchedule: () => void): void {
  globalThis.setImmediate = ((cb: (...a: unknown[]) => void, ...args: unknown[]) => {
    onSchedule();
    return realSetImmediate(cb, ...args);
  }) as typeof setImmediate;
}

/** A channel that never answers its probe on its own: only the test moves `lastProgressAt`. */
function silentChannel(): AtChannel & { lastProgressAt: number } {
  return {
    lastProgressAt: Date.now(),
    isIdle: true,
    probeBeside: () => false,
    run: () => new Promise(() => {}),
  } as unknown as AtChannel & { lastProgressAt: number };
}

/** Watches `ch` until `done` holds (deadline 5 s); returns what was declared lost. */
async function watch(ch: AtChannel, done: (lost: unknown[]) => boolean): Promise<{ errno: number; why: string }[]> {
  const lost: { errno: number; why: string }[] = [];
  const liveness = new AtLiveness(
    ch,
    { active: () => true, onLost: (errno, why) => lost.push({ errno, why }), onRestarted: () => {}, slack: () => 0 },
    { idleMs: 40, answerMs: 60 },
  );
  const deadline = Date.now() + 5000;
  while (!done(lost) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  liveness.stop();
  return lost;
}

describe('AT liveness verdict', () => {
  it('a silent module is declared lost (ETIMEDOUT) after the probe goes unanswered', async () => {
    const lost = await watch(silentChannel(), (l) => l.length > 0);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost[0]?.errno).toBe(E.ETIMEDOUT);
    expect(lost[0]?.why).toMatch(/no answer to a probe/);
  });

  it('an answer read in the same turn as the deadline (a stalled host) cancels the verdict', async () => {
    const ch = silentChannel();
    let cancelled = 0;
    beforeEachImmediate(() => {
      ch.lastProgressAt = Date.now();
      cancelled++;
    });
    const lost = await watch(ch, () => cancelled >= 3);
    expect(cancelled).toBeGreaterThanOrEqual(3); // verdicts were reached, and each was cancelled
    expect(lost).toEqual([]);
  });
});
