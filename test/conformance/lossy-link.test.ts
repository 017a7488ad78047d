/**
 * SPEC §7 end to end, for every SLIP device implementation: host-lib over a serial line that
 * loses and corrupts bytes in both directions. The reliable link must deliver every byte
 * intact and in order, with the loss visible only as retransmissions.
 */
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLAG_RELIABLE, MessageDecoder } from '../../firmware-protocol/index.js';
import { type Device, openDevice } from '../../host-lib/index.js';
import { loopbackServer } from './helpers.js';
import { type RawLink, selectedTargets } from './targets.js';

/** mulberry32: a small seeded PRNG, so a failing run can be told apart from a flaky one by its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction of the line, watched before its faults: whether HELLO granted §7, frames sent again. */
class Direction {
  granted = false;
  resent = 0;
  /** Chunks that carried a numbered frame since the grant. */
  numbered = 0;
  private readonly decoder = new MessageDecoder(1 << 17);
  private readonly seen = new Set<number>();

  /** Takes a chunk; true if it completed a numbered frame. */
  watch(chunk: Buffer): boolean {
    let any = false;
    for (const item of this.decoder.push(chunk)) {
      if (item.type !== 'message') continue;
      const m = item.msg;
      if (m.op === 'HELLO' && m.kind === 'response') {
        this.granted = ((m.flags ?? 0) & FLAG_RELIABLE) !== 0;
        this.seen.clear(); // numbering restarts after a HELLO
      }
      if (!m.link || m.link.unnumbered) continue;
      any = true;
      if (this.seen.has(m.link.seq)) this.resent++;
      this.seen.add(m.link.seq);
    }
    if (any) this.numbered++;
    return any;
  }
}

/**
 * The host's end of `line`. Each way, the 3rd chunk carrying a numbered frame is lost and the
 * 7th corrupted (so the link surely has something to repair), and any chunk is lost or gets a
 * bit flipped with probability `rate` each.
 */
function lossy(line: Duplex, rate: number, seed: number) {
  const rnd = prng(seed);
  let faults = 0;
  const flip = (chunk: Buffer): Buffer => {
    const out = Buffer.from(chunk);
    const at = Math.floor(rnd() * out.length);
    out[at] = (out[at] as number) ^ (1 << Math.floor(rnd() * 8));
    return out;
  };
  const mangle = (dir: Direction, chunk: Buffer): Buffer | null => {
    const numbered = dir.watch(chunk);
    const r = rnd();
    const forced = numbered && (dir.numbered === 3 || dir.numbered === 7);
    if (forced || r < 2 * rate) faults++;
    if ((forced && dir.numbered === 3) || (!forced && r < rate)) return null;
    return forced || r < 2 * rate ? flip(chunk) : chunk;
  };
  const up = new Direction();
  const down = new Direction();
  const host = new Duplex({
    write(chunk: Buffer, _enc, done) {
      const out = mangle(up, chunk);
      if (out) line.write(out);
      done();
    },
    read() {},
    destroy(err, done) {
      line.off('data', onData);
      done(err);
    },
  });
  const onData = (d: Buffer) => {
    const out = mangle(down, d);
    if (out) host.push(out);
  };
  line.on('data', onData);
  return { host, up, down, faults: () => faults };
}

describe.each(selectedTargets().filter((t) => t.raw))('$name', (target) => {
  let raw: RawLink;
  let dev: Device | undefined;
  beforeEach(async () => {
    raw = await (target.raw as () => Promise<RawLink>)();
  });
  afterEach(async () => {
    await dev?.close().catch(() => {});
    await raw.close();
  });

  it('§7: a 96 KiB TCP echo crosses a line that loses and corrupts chunks both ways, intact', async () => {
    // LL_SEED=N replays a run (a failure names its seed).
    const seed = Number(process.env.LL_SEED ?? Date.now() & 0xffff);
    const line = lossy(raw.link, 0.01, seed);
    dev = await openDevice(line.host, { protocol: 'slip', helloTimeoutMs: 8000 });
    expect(line.down.granted).toBe(true);
    const peer = await loopbackServer((c) => c.pipe(c));
    const s = await dev.socket.socket();
    s.settimeout(10);
    await s.connect(['127.0.0.1', peer.port]);
    const data = Buffer.alloc(96 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 255;
    const sending = s.sendall(data);
    const got = await s.read(data.length);
    await sending;
    expect(Buffer.compare(Buffer.from(got ?? []), data), `seed ${seed}`).toBe(0);
    await s.close();
    await peer.close();
    expect(line.faults(), `seed ${seed}`).toBeGreaterThanOrEqual(4);
    // The losses were repaired by retransmissions, each way.
    expect(line.up.resent, `seed ${seed}`).toBeGreaterThan(0);
    expect(line.down.resent, `seed ${seed}`).toBeGreaterThan(0);
  });
});
