/**
 * Boards per process: what many boards in one process cost (N in-process emulators, each with a
 * host session and one connected socket: resident memory per board). Start-up is startup.ts.
 */
import type { Device } from '../host-lib/index.js';
import { openDevice } from '../index.js';

export interface BoardsFigures {
  boards: number;
  /** Resident set size before the first board and with all of them open, MiB. */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  perBoardKiB: number;
  /** Time to open all of them (emulator, HELLO, socket, connect), ms. */
  openMs: number;
}

const MiB = 1 << 20;

/** Opens `n` in-process boards, each with a session and a socket connected to echo.test. */
export async function measureBoards(n: number): Promise<BoardsFigures> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const devices: Device[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const dev = (await openDevice('emulator:')) as unknown as Device;
      devices.push(dev);
      const s = await dev.socket.socket();
      await s.connect(['echo.test', 7]);
    }
    const openMs = performance.now() - t0;
    global.gc?.();
    const after = process.memoryUsage().rss;
    return {
      boards: n,
      rssBeforeMiB: Math.round((before / MiB) * 10) / 10,
      rssAfterMiB: Math.round((after / MiB) * 10) / 10,
      perBoardKiB: Math.round((after - before) / n / 1024),
      openMs: Math.round(openMs),
    };
  } finally {
    for (const d of devices) await d.close();
  }
}
