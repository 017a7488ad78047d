import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message } from './frame.js';
import { MAX_FRAME_MS } from './frame-size.js';
import { LinkState } from './link.js';

const data = (n: number): Message =>
  ({ kind: 'event', seq: n & 0xffff, op: 'CREDIT', body: { sock: 0, bytes: n } }) as Message;

interface InFlight {
  at: number;
  to: 'a' | 'b';
  msg: Message;
}

/**
 * Two link ends over a channel that drops, duplicates and delays frames (virtual time). Returns
 * what B delivered. Deterministic for given random choices.
 */
function simulate(count: number, choose: () => number, lossRate: number): { delivered: number[]; a: LinkState } {
  // At 40 % loss each way a round fails 64 % of the time; allow the long streaks that brings.
  const a = new LinkState({ window: 8, maxRetries: 40 });
  const b = new LinkState({ window: 8, maxRetries: 40 });
  const net: InFlight[] = [];
  const delivered: number[] = [];
  let now = 0;
  const put = (to: 'a' | 'b', msgs: Message[]): void => {
    for (const msg of msgs) {
      const r = choose();
      if (r < lossRate) continue;
      net.push({ at: now + 1 + Math.floor(choose() * 20), to, msg });
      if (r > 1 - lossRate / 2) net.push({ at: now + 1 + Math.floor(choose() * 20), to, msg });
    }
  };
  for (let i = 0; i < count; i++) put('b', a.send(data(i), now).wire);
  for (let step = 0; step < 200_000 && delivered.length < count; step++) {
    net.sort((x, y) => x.at - y.at);
    const deadlines = [a.nextDeadline(), b.nextDeadline(), net[0]?.at].filter((x): x is number => x !== undefined);
    if (deadlines.length === 0) break;
    now = Math.max(now, Math.min(...deadlines));
    while (net.length > 0 && (net[0] as InFlight).at <= now) {
      const f = net.shift() as InFlight;
      const end = f.to === 'a' ? a : b;
      const r = end.receive(f.msg, now);
      put(f.to === 'a' ? 'b' : 'a', r.wire);
      if (f.to === 'b') for (const m of r.deliver) delivered.push((m as { body: { bytes: number } }).body.bytes);
    }
    put('b', a.tick(now).wire);
    put('a', b.tick(now).wire);
  }
  return { delivered, a };
}

describe('reliable link', () => {
  it('delivers everything in order on a perfect channel, without retransmissions', () => {
    const { delivered, a } = simulate(100, () => 0.5, 0);
    expect(delivered).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(a.stats.retransmitted).toBe(0);
  });

  it('delivers exactly once, in order, through loss, duplication and reordering', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.constantFrom(0.05, 0.2, 0.4), (seed, loss) => {
        let s = seed;
        const rand = (): number => {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          return s / 2 ** 32;
        };
        const { delivered, a } = simulate(150, rand, loss);
        expect(delivered).toEqual(Array.from({ length: 150 }, (_, i) => i));
        expect(a.isDead).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it('declares the link dead after maxRetries rounds without an answer', () => {
    const a = new LinkState({ maxRetries: 3, initialRtoMs: 10 });
    a.send(data(1), 0);
    let now = 0;
    let dead = false;
    for (let i = 0; i < 20 && !dead; i++) {
      now = a.nextDeadline() as number;
      dead = a.tick(now).dead;
    }
    expect(dead).toBe(true);
    expect(a.stats.retransmitted).toBe(4);
  });

  it('queues beyond the window and sends the queue as acks open it', () => {
    const a = new LinkState({ window: 2 });
    const b = new LinkState({ window: 2 });
    const first = [0, 1, 2, 3].flatMap((i) => a.send(data(i), 0).wire);
    expect(first.length).toBe(2);
    expect(a.backlog).toBe(4);
    const acks = first.flatMap((m) => b.receive(m, 1).wire);
    const ack = [...acks, ...b.tick(10).wire];
    const more = ack.flatMap((m) => a.receive(m, 11).wire);
    expect(more.map((m) => m.link?.seq)).toEqual([2, 3]);
  });
});

describe('recovery cost', () => {
  it('one lost frame costs one resend (fast retransmit), not the whole window', () => {
    const a = new LinkState({ window: 16 });
    const b = new LinkState({ window: 16 });
    const frames = Array.from({ length: 10 }, (_, i) => a.send(data(i), 0).wire[0] as Message);
    const delivered: number[] = [];
    const back: Message[] = [];
    // Frame 3 is lost; the others arrive, and B keeps 4..9 waiting for 3.
    for (const [i, f] of frames.entries()) {
      if (i === 3) continue;
      const r = b.receive(f, 1);
      back.push(...r.wire);
      for (const m of r.deliver) delivered.push((m as { body: { bytes: number } }).body.bytes);
    }
    expect(delivered).toEqual([0, 1, 2]);
    const resent = back.flatMap((m) => a.receive(m, 2).wire);
    // One resend of frame 3, put on the wire twice because it is small (a lost single copy would
    // stall the window until the timeout).
    expect(resent.map((m) => m.link?.seq)).toEqual([3, 3]);
    for (const m of b.receive(resent[0] as Message, 3).deliver)
      delivered.push((m as { body: { bytes: number } }).body.bytes);
    expect(delivered).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a.stats.retransmitted).toBe(1);
    expect(a.stats.fastRetransmits).toBe(1);
  });
});

describe('a slow line that loses nothing', () => {
  /**
   * A paced line: A's frames take 40 ms each on the wire (in order, nothing lost), answers come
   * back at once; 20 frames are queued at once, so the timeout (set to 30 ms, as if learnt from
   * small requests) fires while they are still queued. Returns the frames A put on the wire.
   */
  function pacedRun(count: number): { sentByA: number; delivered: number; a: LinkState; b: LinkState } {
    const a = new LinkState({ window: 32, initialRtoMs: 30 });
    const b = new LinkState({ window: 32 });
    const toB: Message[] = [];
    const toA: Message[] = [];
    let sentByA = 0;
    let delivered = 0;
    const putB = (msgs: Message[]): void => {
      sentByA += msgs.length;
      toB.push(...msgs);
    };
    for (let i = 0; i < count; i++) putB(a.send(data(i), 0).wire);
    for (let now = 5; now < 20_000 && delivered < count; now += 5) {
      const f = now % 40 === 0 ? toB.shift() : undefined;
      if (f) {
        const r = b.receive(f, now);
        delivered += r.deliver.length;
        toA.push(...r.wire);
      }
      const back = toA.shift();
      if (back) putB(a.receive(back, now).wire);
      putB(a.tick(now).wire);
      toA.push(...b.tick(now).wire);
    }
    return { sentByA, delivered, a, b };
  }

  it('a timeout that fires while frames are only queued costs one resend, not a storm', () => {
    const { sentByA, delivered, a } = pacedRun(20);
    expect(delivered).toBe(20);
    // The timeout's resend goes out once (nothing was heard from B since the frame left: B is silent,
    // not the frame lost); the acknowledgements of the queued originals and the receiver's answer to
    // the duplicate copy must not resend anything more.
    expect(a.stats.retransmitted).toBe(1);
    expect(sentByA).toBe(21);
    expect(a.stats.fastRetransmits).toBe(0);
  });
});

describe('bytes in flight', () => {
  const send = (n: number, bytes: number): Message =>
    ({ kind: 'request', seq: n, op: 'SEND', body: { sock: 0, data: new Uint8Array(bytes) } }) as Message;

  it('keeps at most maxBytes of payload unacknowledged, in order, and always lets one frame go', () => {
    const a = new LinkState({ maxBytes: 100, maxBytesAboveRttMs: 0 });
    const b = new LinkState();
    expect(a.send(send(1, 150), 0).wire).toHaveLength(1); // alone: goes although larger than maxBytes
    expect(a.send(send(2, 60), 0).wire).toHaveLength(0);
    expect(a.send(send(3, 30), 0).wire).toHaveLength(0); // waits behind 2, though it would fit
    const first = b.receive({ ...send(1, 150), link: { seq: 0, ack: 0xffff, unnumbered: false } } as Message, 1);
    expect(first.deliver).toHaveLength(1);
    const ack = { kind: 'event', seq: 0, op: 'ACK', body: {}, link: { seq: 0, ack: 0, unnumbered: true } } as Message;
    const released = a.receive(ack, 2).wire;
    expect(released.map((m) => (m as { seq: number }).seq)).toEqual([2, 3]); // 60 + 30 <= 100
  });

  it('does not cap a fast link (no round trip of maxBytesAboveRttMs measured)', () => {
    const a = new LinkState({ maxBytes: 100 });
    expect(a.send(send(1, 150), 0).wire).toHaveLength(1);
    expect(a.send(send(2, 60), 0).wire).toHaveLength(1);
  });
});

describe('a line of known speed (lineBytesPerSecond)', () => {
  const send = (n: number, bytes: number): Message =>
    ({ kind: 'request', seq: n, op: 'SEND', body: { sock: 0, data: new Uint8Array(bytes) } }) as Message;
  const plainAck = (ack: number): Message =>
    ({ kind: 'event', seq: 0, op: 'ACK', body: {}, link: { seq: 1, ack, unnumbered: true } }) as Message;
  const dataEvent = (bytes: number): Message =>
    ({ kind: 'event', seq: 0, op: 'DATA', body: { sock: 0, data: new Uint8Array(bytes) } }) as Message;
  const size = (m: Message): number => ((m as { body?: { data?: Uint8Array } }).body?.data?.length ?? 0) + 16;

  /**
   * A serial line from A to B at `rate` bytes/s (frames leave one after another, each taking its
   * bytes' time; `actualRate` lets the line be faster than A was told), B's answers arriving 2 ms
   * after it sent them. A learnt a 30 ms timeout from small requests; it sends `count` 1 KiB frames.
   * With `echoBytes`, B answers each frame delivered with a DATA frame of that much payload.
   */
  function run(count: number, rate: number, actualRate = rate, echoBytes = 0) {
    const a = new LinkState({ window: 32, initialRtoMs: 30, lineBytesPerSecond: rate });
    const b = new LinkState({ window: 32, lineBytesPerSecond: rate });
    const line: { msg: Message }[] = [];
    let lineFreeAt = 0;
    const arrivals: { at: number; msg: Message }[] = [];
    const toA: { at: number; msg: Message }[] = [];
    let delivered = 0;
    let mostQueued = 0;
    const putB = (msgs: Message[], now: number): void => {
      for (const msg of msgs) line.push({ msg });
      mostQueued = Math.max(mostQueued, line.length);
      while (line.length > 0) {
        const { msg } = line.shift() as { msg: Message };
        lineFreeAt = Math.max(now, lineFreeAt) + (size(msg) * 1000) / actualRate;
        arrivals.push({ at: lineFreeAt, msg });
      }
    };
    let now = 0;
    for (let i = 0; i < count; i++) putB(a.send(send(i, 1024), now).wire, now);
    const firstBurst = a.backlog - (a as unknown as { queued: Message[] }).queued.length;
    for (; now < 60_000 && delivered < count; now += 1) {
      while (arrivals.length > 0 && (arrivals[0] as { at: number }).at <= now) {
        const r = b.receive((arrivals.shift() as { msg: Message }).msg, now);
        delivered += r.deliver.length;
        for (const msg of r.wire) toA.push({ at: now + 2, msg });
        if (echoBytes > 0)
          for (const _ of r.deliver)
            for (const msg of b.send(dataEvent(echoBytes), now).wire) toA.push({ at: now + 2, msg });
      }
      for (const msg of b.tick(now).wire) toA.push({ at: now + 2, msg });
      while (toA.length > 0 && (toA[0] as { at: number }).at <= now)
        putB(a.receive((toA.shift() as { msg: Message }).msg, now).wire, now);
      putB(a.tick(now).wire, now);
    }
    return { a, delivered, now, firstBurst, mostQueued };
  }

  it('counts each frame its own line time: no false timeout at 115200, and at most two frames queued', () => {
    const { a, delivered, now, firstBurst } = run(20, 11_520);
    expect(delivered).toBe(20);
    expect(a.stats.retransmitted).toBe(0);
    // One frame on the line and one waiting (30 ms of queue allowed beyond one frame): the rest wait in
    // the link, where its own acknowledgements overtake them.
    expect(firstBurst).toBe(2);
    // 20 x 1040 bytes at 11,520 B/s is 1.8 s; the acknowledgement clock keeps the line busy.
    expect(now).toBeLessThan(1900);
  });

  it('a timeout found false (the first copy is acknowledged before the resend left) is undone', () => {
    const a = new LinkState({ initialRtoMs: 30, lineBytesPerSecond: 11_520 });
    a.send(send(1, 1024), 0); // on the line until 90 ms
    const limit = a.payloadLimit;
    const at = a.nextDeadline() as number;
    a.receive(plainAck(0xffff), 91); // B is heard after the frame left: a loss is likely
    expect(at).toBeGreaterThan(90);
    expect(a.tick(at).wire).toHaveLength(2); // a resend, twice: they leave the line 90 and 180 ms later
    expect(a.payloadLimit).toBeLessThan(limit);
    const ack = { kind: 'event', seq: 0, op: 'ACK', body: {}, link: { seq: 1, ack: 0, unnumbered: true } } as Message;
    a.receive(ack, at + 10);
    expect(a.stats.spuriousTimeouts).toBe(1);
    expect(a.payloadLimit).toBe(limit);
    // The RTO is learnt from the first copy's round trip (from its departure at 90 ms), not left at
    // the 30 ms that fired falsely, nor the doubled value of the timeout.
    const firstCopy = at + 10 - 1040 / 11.52;
    expect(a.currentRtoMs).toBeGreaterThanOrEqual(firstCopy);
    expect(a.currentRtoMs).not.toBe(60);
  });

  it('a first timeout with nothing heard since the frame left sends one copy and keeps the size', () => {
    const a = new LinkState({ initialRtoMs: 30, lineBytesPerSecond: 11_520 });
    a.send(send(1, 1024), 0);
    const limit = a.payloadLimit;
    const first = a.nextDeadline() as number;
    expect(a.tick(first).wire).toHaveLength(1); // B (or its process) is silent: no extra copy
    expect(a.payloadLimit).toBe(limit);
    const second = a.nextDeadline() as number;
    expect(a.tick(second).wire).toHaveLength(2); // still nothing: from now on as for a loss
    expect(a.payloadLimit).toBeLessThan(limit);
  });

  it('a CREDIT goes ahead of SENDs the line holds back; the SENDs keep their order', () => {
    const a = new LinkState({ lineBytesPerSecond: 11_520 });
    const out = [1, 2, 3, 4].flatMap((n) => a.send(send(n, 1024), 0).wire);
    expect(out.map((m) => (m as { seq: number }).seq)).toEqual([1, 2]); // 3 and 4 wait for the line
    const credit = { kind: 'event', seq: 9, op: 'CREDIT', body: { sock: 0, bytes: 16384 } } as Message;
    const sent = a.send(credit, 1).wire;
    expect(sent.map((m) => m.op)).toEqual(['CREDIT']);
    expect(sent[0]?.link?.seq).toBe(2); // numbered after the SENDs already sent, before those held
    // In a one-way transfer the fourth may wait up to 30 ms for an answer (LineModel.answerHoldUntil).
    const later = [300, 400].flatMap((t) => a.tick(t).wire).filter((m) => m.op === 'SEND');
    expect(later.map((m) => [(m as { seq: number }).seq, m.link?.seq])).toEqual([
      [3, 3],
      [4, 4],
    ]);
  });

  it('on a clean line the frame size grows fast; while B sends payload too, to at most MAX_FRAME_MS of line', () => {
    // An echo: B answers every frame with 1 KiB of its own: frames stay at MAX_FRAME_MS of line
    // (90 ms at 115200 is 1020 B, below the 1 KiB floor); at 230400 baud it is 2057 B.
    const echo = run(20, 11_520, 11_520, 1024);
    expect(echo.delivered).toBe(20);
    expect(echo.a.payloadLimit).toBe(1024);
    const faster = run(40, 23_040, 23_040, 1024);
    expect(faster.a.payloadLimit).toBe(Math.floor((23_040 * MAX_FRAME_MS) / 1000) - 16);
    // One way: past the cap once A's payload has flowed 300 ms with none coming back (1 KiB frames
    // test sizes up to 4 KiB only; ONE_WAY_FRAME_MS of 115200 would allow 4592 B).
    expect(run(20, 11_520).a.payloadLimit).toBe(4096);
    // 921600: the cap (13.8 KB) is not what stops it.
    expect(run(20, 92_160).a.payloadLimit).toBe(4096);
  });

  it('no room for a new frame while one waits for the line: the next is built at the size of the moment', () => {
    const a = new LinkState({ lineBytesPerSecond: 11_520 });
    for (const n of [1, 2]) a.send(send(n, 1024), 0);
    expect(a.room).toBeGreaterThan(0); // one on the line, one queued below the link
    a.send(send(3, 1024), 0);
    expect(a.room).toBe(0); // held in the link
    const at = a.nextDeadline() as number;
    expect(a.tick(at).wire.map((m) => m.op)).toEqual(['SEND']);
    expect(a.room).toBeGreaterThan(0);
  });

  it('a line faster than its stated speed (a pty ignores baud) is not held to that speed', () => {
    const { a, delivered, now } = run(200, 11_520, 10_000_000);
    expect(delivered).toBe(200);
    expect(a.stats.retransmitted).toBe(0);
    expect(now).toBeLessThan(2000); // held to 11,520 B/s it would take 18 s
  });
});
