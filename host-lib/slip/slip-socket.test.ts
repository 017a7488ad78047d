/**
 * The SLIP socket's send path alone, under a scripted driver: bytes taken by send() are cut into
 * SEND frames only while the link has room, at the frame size of that moment, in order; close,
 * shutdown, a failed SEND and a lost device neither lose nor reorder what was taken, nor hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constants as C, errno as E } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import { SlipSocket, type SlipSocketHost } from './slip-socket.js';

interface Call {
  op: string;
  data?: Uint8Array;
  resolve(body: unknown): void;
  reject(err: Error): void;
}

/** A driver whose link has `room` frames of room, answered by the test. */
class ScriptedHost {
  readonly calls: Call[] = [];
  room = 0;
  sendChunk = 1024;
  txWindow = 65536;
  readonly maxSendPayload = 4085;
  readonly creditStep = 16384;
  readonly canShutdown = true;
  private readonly waiters = new Set<SlipSocket>();

  get frameRoom(): boolean {
    return this.room > 0;
  }
  waitRoom(s: SlipSocket): void {
    this.waiters.add(s);
  }
  call(op: string, body: { data?: Uint8Array }): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (op === 'SEND') this.room--;
      this.calls.push({ op, data: body.data, resolve, reject });
    });
  }
  adopt(): SlipSocket {
    throw new Error('not used');
  }
  accept(): Promise<never> {
    throw new Error('not used');
  }
  credit(): void {}
  async release(): Promise<void> {
    await this.call('CLOSE', {});
  }
  /** `n` more frames of room; the waiting sockets cut, as SlipDriver's onRoom does. */
  grant(n: number): void {
    this.room += n;
    for (const s of [...this.waiters]) {
      this.waiters.delete(s);
      s.cutSends();
    }
  }
  sends(): Call[] {
    return this.calls.filter((c) => c.op === 'SEND');
  }
  /** Answers every call not answered yet. */
  answerAll(): void {
    for (const c of this.calls.splice(0)) c.resolve({ count: c.data?.length ?? 0 });
  }
}

function open(type: number = C.SOCK_STREAM): { host: ScriptedHost; s: SlipSocket } {
  const host = new ScriptedHost();
  const s = new SlipSocket(3, type, host as unknown as SlipSocketHost);
  s.state = 'connected';
  return { host, s };
}

function pattern(n: number, from = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
}

function joined(calls: Call[]): number[] {
  return calls.flatMap((c) => [...(c.data ?? [])]);
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SlipSocket send path', () => {
  it('cuts SENDs only while the link has room, each at the frame size of its moment', () => {
    const { host, s } = open();
    host.room = 2;
    expect(s.send(pattern(10_000))).toBe(10_000);
    expect(host.sends().map((c) => c.data?.length)).toEqual([1024, 1024]);
    host.sendChunk = 4000; // the link learnt a larger size meanwhile
    host.grant(2);
    expect(host.sends().map((c) => c.data?.length)).toEqual([1024, 1024, 4000, 3952]);
    expect(joined(host.sends())).toEqual([...pattern(10_000)]);
    expect(s.unsent()).toBe(10_000);
  });

  it('joins small sends that wait for room, and keeps a datagram socket send one datagram', () => {
    const { host, s } = open();
    for (let i = 0; i < 4; i++) s.send(pattern(100, i * 100));
    host.grant(1);
    expect(host.sends().map((c) => c.data?.length)).toEqual([400]);
    const d = open(C.SOCK_DGRAM);
    d.s.send(pattern(100));
    d.s.send(pattern(100));
    expect(d.host.sends().map((c) => c.data?.length)).toEqual([100, 100]);
  });

  it('takes a copy: the caller may reuse its buffer while the bytes wait', () => {
    const { host, s } = open();
    const buf = pattern(2000);
    s.send(buf);
    buf.fill(0);
    host.grant(4);
    expect(joined(host.sends())).toEqual([...pattern(2000)]);
  });

  it('copies into memory used again once SENDs are answered, never under a SEND not answered', async () => {
    const { host, s } = open();
    host.room = 10_000;
    host.sendChunk = 4096;
    const want = new Map<Call, number[]>();
    const record = () => {
      for (const c of host.sends()) if (!want.has(c)) want.set(c, [...(c.data ?? [])]);
    };
    const intact = () => host.sends().every((c) => Buffer.from(c.data ?? []).equals(Buffer.from(want.get(c) ?? [])));
    // A full window answers EAGAIN (a non-blocking send): 0 bytes taken.
    const trySend = (data: Uint8Array): number => {
      try {
        return s.send(data);
      } catch {
        return 0;
      }
    };
    // A window of 64 KiB in flight, none answered: sends take nothing more.
    for (let k = 0; k < 4; k++) expect(trySend(pattern(16_384, k))).toBe(16_384);
    expect(trySend(pattern(10))).toBe(0);
    record();
    const first = host.sends()[0]?.data?.buffer;
    // Then answer the oldest SEND at a time and send what fits, for 40 windows' worth.
    let k = 4;
    for (let round = 0; round < 160; round++) {
      const oldest = host.calls.shift();
      oldest?.resolve({ count: oldest.data?.length ?? 0 });
      await settle();
      while (trySend(pattern(4096, k)) > 0) k++;
      record();
      expect(intact()).toBe(true);
    }
    const buffers = new Set(host.calls.map((c) => c.data?.buffer));
    expect(buffers).toEqual(new Set([first])); // all in the ring: nothing fresh once it turned over
    expect(joined(host.sends())).toEqual(host.sends().flatMap((c) => want.get(c) ?? []));
  });

  it("sizes its ring by the device's window only up to a bound (a u32 window of 4 GiB sends as any)", () => {
    const { host, s } = open();
    host.txWindow = 0xffff_ffff;
    host.room = 1000;
    expect(s.send(pattern(300_000))).toBe(300_000);
    expect(joined(host.sends())).toEqual([...pattern(300_000)]);
  });

  it('close waits for room and answers, then CLOSE goes after the last SEND', async () => {
    const { host, s } = open();
    s.send(pattern(5000));
    const closed = s.close();
    await settle();
    expect(host.calls.map((c) => c.op)).toEqual([]);
    host.grant(10);
    expect(joined(host.sends())).toEqual([...pattern(5000)]);
    host.answerAll();
    await settle();
    expect(host.calls.map((c) => c.op)).toEqual(['CLOSE']);
    host.calls[0]?.resolve({});
    await closed;
  });

  it('a connection error while bytes wait: close still sends them ahead of CLOSE, at once', async () => {
    const { host, s } = open();
    s.send(pattern(3000));
    s.markError(new OSError(E.ECONNRESET));
    const closed = s.close();
    await settle();
    expect(host.calls.map((c) => c.op)).toEqual(['SEND', 'SEND', 'SEND', 'CLOSE']);
    expect(joined(host.sends())).toEqual([...pattern(3000)]);
    host.answerAll();
    await closed;
  });

  it('shutdown cuts what waits before SHUTDOWN, so the FIN follows every byte taken', async () => {
    const { host, s } = open();
    host.room = 1;
    s.send(pattern(3000));
    const done = s.shutdown(1);
    expect(host.calls.map((c) => c.op)).toEqual(['SEND', 'SEND', 'SEND', 'SHUTDOWN']);
    expect(joined(host.sends())).toEqual([...pattern(3000)]);
    host.calls.at(-1)?.resolve({});
    await done;
  });

  it('a failed SEND ends the socket: what waits is dropped, reported once, never sent', async () => {
    const { host, s } = open();
    host.room = 1;
    s.send(pattern(3000));
    host.sends()[0]?.reject(new OSError(E.ECONNRESET));
    await settle();
    expect(() => s.unsent()).toThrow(OSError);
    host.grant(10);
    expect(host.sends()).toHaveLength(1);
    expect(() => s.send(pattern(10))).toThrow(OSError);
    const err = (() => {
      try {
        s.recv(10);
      } catch (e) {
        return e;
      }
    })();
    expect((err as OSError).errno).toBe(E.ECONNRESET);
    expect(s.recv(10)).toHaveLength(0); // raised once, then EOF
  });

  it('a lost device drops what waits: nothing more is sent, and close does not wait for it', async () => {
    const { host, s } = open();
    host.room = 1;
    s.send(pattern(3000));
    s.fail(new OSError(E.ETIMEDOUT, 'link lost'));
    host.grant(10);
    expect(host.sends()).toHaveLength(1);
    expect(() => s.unsent()).toThrow(OSError);
    await s.close(); // orphaned: no CLOSE, no flush wait
    expect(host.calls.map((c) => c.op)).toEqual(['SEND']);
    host.answerAll();
    await settle();
    expect(() => s.unsent()).toThrow(OSError);
  });

  it('any mix of sends, room, size changes and answers delivers every byte once, in order', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), n: fc.integer({ min: 1, max: 20_000 }) }),
      fc.record({ kind: fc.constant('room' as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('chunk' as const), n: fc.integer({ min: 256, max: 4085 }) }),
      fc.record({ kind: fc.constant('answer' as const), n: fc.integer({ min: 0, max: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const { host, s } = open();
        const taken: number[] = [];
        const cut: number[] = [];
        for (const st of steps) {
          if (st.kind === 'send') {
            const room = 65536 - s.unsent();
            if (room <= 0) continue;
            const n = s.send(pattern(st.n, taken.length));
            expect(n).toBe(Math.min(st.n, room));
            taken.push(...pattern(n, taken.length));
          } else if (st.kind === 'room') host.grant(st.n);
          else if (st.kind === 'chunk') host.sendChunk = st.n;
          else
            for (const c of host.calls.splice(0, st.n)) {
              cut.push(...(c.data ?? []));
              c.resolve({});
            }
          for (const c of host.sends()) expect(c.data?.length).toBeLessThanOrEqual(4085);
          await settle();
        }
        host.grant(1000);
        for (const c of host.calls.splice(0)) {
          cut.push(...(c.data ?? []));
          c.resolve({});
        }
        await settle();
        expect(cut).toEqual(taken);
        expect(s.unsent()).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
