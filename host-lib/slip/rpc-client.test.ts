/**
 * A request's default deadline over the reliable link counts from when its frame left the line, as
 * the link knows it when it first sends the frame: a request the link holds back (its window full,
 * or the line) has no deadline yet. On a paced line resent copies of earlier frames overtake a held
 * request, so a deadline counted from an estimate made with the request expired before the device
 * could answer (test/adversarial/paced-line-alive.test.ts, the 0xC0 echo at 19200, one run in three).
 * Resends of the request's own frame do not move its deadline: a device that stops acknowledging
 * (emulator/faults/device-faults.test.ts, hang()) still fails it on time.
 *
 * The device here is played by hand over real streams with the real codec and link state: it reads
 * the host's frames, and answers a request only when the test says so.
 */
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeSlip,
  encodeWire,
  FLAG_RELIABLE,
  LinkDriver,
  type LinkOptions,
  type Message,
  MessageDecoder,
  type RequestMsg,
} from '../../firmware-protocol/index.js';
import { LinkError, RpcClient } from './rpc-client.js';

const TIMEOUT_MS = 300;

class HandDevice {
  readonly toHost = new PassThrough();
  readonly toDevice = new PassThrough();
  /** Acknowledges only on frames of its own (a delayed ACK frame would come after the test). */
  readonly link = new LinkDriver(
    (m) => this.toHost.write(encodeWire(m)),
    () => {},
    { ackDelayMs: 60_000 },
  );
  /** Requests the device's link delivered, in order. */
  readonly requests: RequestMsg[] = [];
  /** Numbered frames that reached the device (first copies and resends). */
  framesIn = 0;
  /** Ignore the host's frames (as if they were lost on the line). */
  deaf = false;
  private readonly decoder = new MessageDecoder(4096);

  constructor() {
    this.toDevice.on('data', (chunk: Uint8Array) => {
      for (const item of this.decoder.push(chunk)) if (item.type === 'message') this.onMessage(item.msg);
    });
  }

  get hostEnd(): Duplex {
    return Duplex.from({ readable: this.toHost, writable: this.toDevice });
  }

  private onMessage(msg: Message): void {
    if (msg.kind === 'request' && msg.op === 'HELLO') {
      this.toHost.write(
        encodeWire({
          kind: 'response',
          seq: msg.seq,
          op: 'HELLO',
          status: 0,
          flags: FLAG_RELIABLE,
          body: {
            version: 1,
            profile: 'esp32',
            capabilities: 0,
            maxFrame: 4096,
            txWindow: 65536,
            maxSockets: 8,
            errnoBase: 0,
            bootNonce: new Uint8Array(8),
          },
        } as Message),
      );
      this.link.enable();
      return;
    }
    if (this.deaf) return;
    if (msg.link && !msg.link.unnumbered) this.framesIn++;
    for (const m of this.link.receive(msg)) if (m.kind === 'request') this.requests.push(m as RequestMsg);
  }

  /** Answers `req` with an empty success (PING echoes its payload). */
  answer(req: RequestMsg): void {
    const body = req.op === 'PING' ? { payload: req.body.payload } : {};
    this.link.send({ kind: 'response', seq: req.seq, op: req.op, status: 0, body } as Message);
  }
}

let client: RpcClient | undefined;
let device: HandDevice | undefined;
afterEach(() => {
  device?.link.disable();
  client?.failAll(new Error('test over'));
  client = undefined;
  device = undefined;
});

async function connected(link: Partial<LinkOptions> = {}): Promise<{ client: RpcClient; device: HandDevice }> {
  device = new HandDevice();
  client = new RpcClient(device.hostEnd, {
    maxFrame: 4096,
    requestTimeoutMs: TIMEOUT_MS,
    onEvent: () => {},
    // No resend before the test has answered (unless a test asks for them).
    link: { initialRtoMs: 5000, minRtoMs: 5000, maxRetries: 8, ackDelayMs: 0, ...link },
  });
  await client.request('HELLO', { version: 1, maxFrame: 4096, rxWindow: 65536 });
  expect(client.reliable.enabled).toBe(true);
  return { client, device };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RpcClient: default deadline over the reliable link', () => {
  it('a request held back behind a full window has no deadline until sent; then it counts from there', async () => {
    const { client, device } = await connected({ window: 1 });
    const started = Date.now();
    const first = client.request('PING', { payload: new Uint8Array([1]) }).then(
      () => undefined,
      (e: LinkError) => e,
    );
    const second = client.request('PING', { payload: new Uint8Array([2]) });
    const firstErr = await first; // never answered nor acknowledged: fails at its own deadline
    expect(firstErr?.code).toBe('ETIMEDOUT');
    await sleep(TIMEOUT_MS); // the second, held back all along, is past a deadline counted from the call
    expect(device.requests.map((r) => r.seq)).toHaveLength(1);
    device.answer(device.requests[0] as RequestMsg); // acknowledges the first: the second goes out
    while (device.requests.length < 2) {
      expect(Date.now() - started, 'the held request never went out').toBeLessThan(5000);
      await sleep(5);
    }
    await sleep(TIMEOUT_MS / 2);
    device.answer(device.requests[1] as RequestMsg);
    const body = await second;
    expect(Array.from(body.payload)).toEqual([2]);
    expect(Date.now() - started).toBeGreaterThan(TIMEOUT_MS * 2);
  });

  it('a request sent at once and acknowledged but never answered fails ETIMEDOUT one timeout after it left', async () => {
    const { client, device } = await connected();
    const started = Date.now();
    const outcome = client.request('PING', { payload: new Uint8Array([3]) }).then(
      () => undefined,
      (e: LinkError) => e,
    );
    while (device.requests.length === 0) await sleep(5);
    device.link.send({ kind: 'event', seq: 0, op: 'CREDIT', body: { sock: 0, bytes: 1 } } as Message); // carries the ack
    const err = await outcome;
    expect(err).toBeInstanceOf(LinkError);
    expect(err?.code).toBe('ETIMEDOUT');
    expect(err?.message).toMatch(/did not answer PING/);
    const ms = Date.now() - started;
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(ms).toBeLessThan(TIMEOUT_MS * 3);
  });

  it('a device that stops acknowledging fails the request at its deadline although the link resends it', async () => {
    const { client, device } = await connected({ initialRtoMs: 50, minRtoMs: 50, maxRtoMs: 50 });
    device.deaf = true;
    const started = Date.now();
    const err = await client.request('PING', { payload: new Uint8Array([4]) }).then(
      () => undefined,
      (e: LinkError) => e,
    );
    expect(client.reliable.link?.stats.retransmitted).toBeGreaterThan(0);
    expect(err?.code).toBe('ETIMEDOUT');
    expect(err?.message).toMatch(/did not answer PING/);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS * 3);
  });
});

describe('RpcClient: frames written in one job', () => {
  it('leave in one transport write, large SENDs included (over a pty each write is a syscall)', async () => {
    const writes: Buffer[] = [];
    const transport = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        writes.push(chunk);
        done();
      },
    });
    const rpc = new RpcClient(transport, { maxFrame: 4096, requestTimeoutMs: 60_000, onEvent: () => {} });
    // Wire frames are cut one after another from shared 256 KiB blocks: start this test on a fresh one.
    const first = encodeSlip(new Uint8Array(30_000));
    while (encodeSlip(new Uint8Array(30_000)).buffer === first.buffer);
    const failed = [1, 2, 3].map((n) =>
      rpc.request('SEND', { sock: 0, data: new Uint8Array(3000).fill(n) }).catch((e: Error) => e),
    );
    rpc.request('PING', { payload: Uint8Array.of(9) }).catch(() => {});
    await sleep(0);
    expect(writes).toHaveLength(1);
    const frames = new MessageDecoder(4096).push(writes[0] as Buffer);
    expect(frames.map((f) => (f.type === 'message' ? f.msg.op : f.type))).toEqual(['SEND', 'SEND', 'SEND', 'PING']);
    rpc.failAll(new Error('test over'));
    expect(((await failed[0]) as Error).message).toBe('test over');
  });
});

/** A transport whose writes complete when the test says so, as a serial port's write that met a full tty does. */
function heldTransport(record: (chunk: Buffer) => void): { transport: Duplex; done: (() => void)[] } {
  const done: (() => void)[] = [];
  const transport = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      record(chunk);
      done.push(() => cb());
    },
  });
  return { transport, done };
}

describe('RpcClient: a write the transport still holds', () => {
  it('frames made meanwhile wait and leave together in the next write; a lone frame goes at once', async () => {
    const writes: Buffer[] = [];
    const { transport, done } = heldTransport((chunk) => writes.push(chunk));
    const rpc = new RpcClient(transport, { maxFrame: 4096, requestTimeoutMs: 60_000, onEvent: () => {} });
    const first = encodeSlip(new Uint8Array(30_000));
    while (encodeSlip(new Uint8Array(30_000)).buffer === first.buffer);
    const ops = (w: Buffer) => new MessageDecoder(4096).push(w).map((f) => (f.type === 'message' ? f.msg.op : f.type));
    const pending: Promise<unknown>[] = [rpc.request('PING', { payload: Uint8Array.of(1) }).catch(() => {})];
    await sleep(0);
    expect(writes.map(ops)).toEqual([['PING']]);
    // Two jobs, two flushes: without the wait each would be its own write queued in the stream.
    for (const n of [1, 2]) {
      pending.push(rpc.request('SEND', { sock: 0, data: new Uint8Array(3000).fill(n) }).catch(() => {}));
      await sleep(0);
    }
    expect(writes).toHaveLength(1);
    done.shift()?.();
    await sleep(0);
    expect(writes.map(ops)).toEqual([['PING'], ['SEND', 'SEND']]);
    done.shift()?.();
    await sleep(0);
    pending.push(rpc.request('PING', { payload: Uint8Array.of(2) }).catch(() => {}));
    await sleep(0);
    expect(writes.map(ops)).toEqual([['PING'], ['SEND', 'SEND'], ['PING']]);
    rpc.failAll(new Error('test over'));
    await Promise.all(pending);
  });
});

describe('RpcClient: a write held behind another writer', () => {
  it('frames that waited for our write go once it completes, even with other bytes queued behind it', async () => {
    const writes: string[] = [];
    const { transport, done } = heldTransport((chunk) => {
      const items = new MessageDecoder(4096).push(chunk);
      writes.push(items.length > 0 ? items.map((f) => (f.type === 'message' ? f.msg.op : f.type)).join('+') : 'raw');
    });
    const rpc = new RpcClient(transport, { maxFrame: 4096, requestTimeoutMs: 60_000, onEvent: () => {} });
    const pending: Promise<unknown>[] = [rpc.request('PING', { payload: Uint8Array.of(1) }).catch(() => {})];
    await sleep(0);
    transport.write(Buffer.from('x')); // someone else's bytes, queued behind our PING
    pending.push(rpc.request('SEND', { sock: 0, data: new Uint8Array(100) }).catch(() => {}));
    await sleep(0);
    expect(writes).toEqual(['PING']);
    for (let i = 0; i < 3 && writes.length < 3; i++) {
      done.shift()?.();
      await sleep(0);
    }
    expect(writes).toEqual(['PING', 'raw', 'SEND']);
    rpc.failAll(new Error('test over'));
    await Promise.all(pending);
  });
});

describe('RpcClient: wire bytes reused once written (reuseWireBytes)', () => {
  it('never changes bytes the transport still holds, and cuts frames from the same memory once it is done', async () => {
    const held: { chunk: Buffer; copy: Buffer }[] = [];
    const { transport, done } = heldTransport((chunk) => held.push({ chunk, copy: Buffer.from(chunk) }));
    const rpc = new RpcClient(transport, {
      maxFrame: 4096,
      requestTimeoutMs: 60_000,
      onEvent: () => {},
      reuseWireBytes: true,
    });
    // Writes complete in order: the first `completed` are done, and their memory may be reused.
    let completed = 0;
    const complete = () => {
      const cb = done.shift();
      if (cb) completed++;
      cb?.();
    };
    const intact = () => held.slice(completed).every((h) => h.chunk.equals(h.copy));
    const pending: Promise<unknown>[] = [];
    const send = (n: number) =>
      pending.push(rpc.request('SEND', { sock: 0, data: new Uint8Array(3000).fill(n & 0xff) }).catch(() => {}));
    send(0);
    await sleep(0);
    expect(held).toHaveLength(1);
    // While the first write is held, frames of more than the ring's 256 KiB are made: none may land on it.
    for (let n = 1; n <= 100; n++) {
      send(n);
      await sleep(0);
    }
    expect(intact()).toBe(true);
    // Then every write completes as it is made, and 100 more frames go (300 KB: the ring wraps).
    for (let n = 101; n <= 200 || done.length > 0; n++) {
      complete();
      if (n <= 200) send(n);
      await sleep(0);
      expect(intact()).toBe(true);
    }
    const ring = held[0]?.chunk.buffer;
    const reused = held.slice(1).filter((h) => h.chunk.buffer === ring);
    expect(reused.length).toBeGreaterThan(1);
    // What the transport was given, decoded: the 201 SENDs in order.
    const decoder = new MessageDecoder(4096);
    const filled = held.flatMap((h) =>
      decoder
        .push(h.copy)
        .map((f) =>
          f.type === 'message' && f.msg.kind === 'request' && f.msg.op === 'SEND' ? (f.msg.body.data[0] ?? -1) : -1,
        ),
    );
    expect(filled).toEqual(Array.from({ length: 201 }, (_, n) => n & 0xff));
    rpc.failAll(new Error('test over'));
    await Promise.all(pending);
  });
});
