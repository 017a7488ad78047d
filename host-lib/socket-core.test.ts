/**
 * The socket core alone, under a minimal protocol port: what every driver socket inherits —
 * the error reported once, EOF, would-block, connect progress, poll bits and credit.
 */
import { describe, expect, it } from 'vitest';
import { constants as C, errno as E, POLL_BITS as P } from '../firmware-protocol/index.js';
import type { DriverSocket, SockAddr } from './driver.js';
import { OSError } from './errors.js';
import { SocketCore } from './socket-core.js';

/** A port that records what the core hands it, with a send window of `room` bytes. */
class TestPort extends SocketCore {
  protected readonly eofEndsSends: boolean;
  readonly wire: Uint8Array[] = [];
  credited = 0;
  released = false;
  room = 8;

  constructor(type: number = C.SOCK_STREAM, eofEndsSends = false) {
    super(1, type);
    this.eofEndsSends = eofEndsSends;
  }
  async connect(addr: SockAddr): Promise<'done' | 'inprogress'> {
    this.beginConnect();
    this.remote = addr;
    this.state = 'connecting';
    return 'inprogress';
  }
  async bind(addr: SockAddr): Promise<SockAddr> {
    return addr;
  }
  async listen(): Promise<number> {
    this.state = 'listening';
    return 0;
  }
  async accept(): Promise<[DriverSocket, SockAddr]> {
    throw new Error('not used');
  }
  async sendto(data: Uint8Array): Promise<number> {
    return data.length;
  }
  async setsockopt(): Promise<void> {}
  protected sendRoom(): number {
    return this.room;
  }
  protected transmit(data: Uint8Array): void {
    this.wire.push(data);
    this.room -= data.length;
  }
  protected consumed(n: number): void {
    this.credited += n;
  }
  protected acceptReady(): boolean {
    return false;
  }
  protected async release(): Promise<void> {
    this.released = true;
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const errnoOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof OSError ? err.errno : -1;
  }
  return undefined;
};

async function connected(eofEndsSends = false): Promise<TestPort> {
  const s = new TestPort(C.SOCK_STREAM, eofEndsSends);
  await s.connect(['10.0.0.1', 7]);
  s.connectDone(null);
  return s;
}

describe('SocketCore', () => {
  it('connect progress: in progress, then done; a failure is raised once and leaves the socket new', async () => {
    const s = new TestPort();
    expect(await s.connect(['10.0.0.1', 7])).toBe('inprogress');
    expect(s.connectProgress()).toBe('inprogress');
    expect(s.revents()).toBe(0);
    s.connectDone(new OSError(E.ECONNREFUSED));
    expect(s.revents()).toBe(P.POLLERR | P.POLLHUP);
    expect(errnoOf(() => s.connectProgress())).toBe(E.ECONNREFUSED);
    expect(s.connectProgress()).toBe('done');
    expect(s.state).toBe('new');
  });

  it('recv: bytes across deliveries, peek keeps them, credit counts only taken bytes, then EAGAIN', async () => {
    const s = await connected();
    s.deliver(bytes('hel'));
    s.deliver(bytes('lo'));
    expect(text(s.recv(4, true))).toBe('hell');
    expect(s.credited).toBe(0);
    expect(text(s.recv(4))).toBe('hell');
    expect(text(s.recv(10))).toBe('o');
    expect(s.credited).toBe(5);
    expect(errnoOf(() => s.recv(1))).toBe(E.EAGAIN);
    s.deliver(bytes('!'));
    expect(s.recvfrom(1, true)).toEqual([bytes('!'), ['10.0.0.1', 7]]);
  });

  it('an error is raised once after the queued bytes, then reads are EOF; a reset becomes EPIPE to a writer', async () => {
    const s = await connected();
    s.deliver(bytes('x'));
    s.markError(new OSError(E.ECONNRESET));
    expect(s.revents() & (P.POLLIN | P.POLLERR)).toBe(P.POLLIN | P.POLLERR);
    expect(text(s.recv(5))).toBe('x');
    expect(errnoOf(() => s.recv(5))).toBe(E.ECONNRESET);
    expect(s.recv(5).length).toBe(0);
    expect(s.revents() & P.POLLERR).toBe(0);
    expect(errnoOf(() => s.send(bytes('y')))).toBe(E.EPIPE);
  });

  it('fail(): a pending connect ends with the error, and once seen every call raises it', async () => {
    const s = new TestPort();
    await s.connect(['10.0.0.1', 7]);
    s.fail(new OSError(E.ECONNRESET, 'coprocessor restarted'));
    expect(errnoOf(() => s.connectProgress())).toBe(E.ECONNRESET);
    expect(errnoOf(() => s.recv(1))).toBe(E.ECONNRESET);
    expect(errnoOf(() => s.recv(1))).toBe(E.ECONNRESET);
    expect(errnoOf(() => s.send(bytes('z')))).toBe(E.ECONNRESET);
  });

  it('send takes what the window allows; EAGAIN when full; POLLOUT follows the room', async () => {
    const s = await connected();
    expect(s.send(bytes('0123456789'))).toBe(8);
    expect(text(s.wire[0]!)).toBe('01234567');
    expect(s.revents() & P.POLLOUT).toBe(0);
    expect(errnoOf(() => s.send(bytes('8')))).toBe(E.EAGAIN);
  });

  it('EOF: a half-close keeps sends open; where EOF ends the link, send is EPIPE and poll says HUP', async () => {
    const half = await connected(false);
    half.markEof();
    expect(half.recv(1).length).toBe(0);
    expect(half.send(bytes('a'))).toBe(1);
    const whole = await connected(true);
    whole.markEof();
    expect(whole.revents() & (P.POLLHUP | P.POLLOUT)).toBe(P.POLLHUP);
    expect(errnoOf(() => whole.send(bytes('a')))).toBe(E.EPIPE);
  });

  it('datagrams keep their boundaries and sources; truncation drops the rest', () => {
    const s = new TestPort(C.SOCK_DGRAM);
    s.deliverDatagram(bytes('first'), ['10.0.0.2', 53]);
    s.deliverDatagram(bytes('second'), ['10.0.0.3', 54]);
    expect(s.revents() & P.POLLIN).toBe(P.POLLIN);
    const [d1, from1] = s.recvfrom(3);
    expect([text(d1), from1]).toEqual(['fir', ['10.0.0.2', 53]]);
    expect(text(s.recv(10))).toBe('second');
    expect(s.credited).toBe(11);
    expect(errnoOf(() => s.recvfrom(1))).toBe(E.EAGAIN);
  });

  it('close: EBADF from then on, POLLNVAL, release once', async () => {
    const s = await connected();
    await s.close();
    await s.close();
    expect(s.released).toBe(true);
    expect(s.revents()).toBe(P.POLLNVAL);
    expect(errnoOf(() => s.recv(1))).toBe(E.EBADF);
  });
});
