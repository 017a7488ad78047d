/**
 * A request's default deadline over the reliable link counts from when the device had it: while the
 * link still holds the request's frame (held back, or sent and not yet acknowledged) no answer is
 * due yet, and the link's own retransmissions and liveness rule decide whether the device is there.
 * On a paced line resent copies of earlier frames overtake a held request, so a deadline counted
 * from the request (or from the line model's estimate made then) expired before the device could
 * answer (test/adversarial/paced-line-alive.test.ts, the 0xC0 echo at 19200, one run in three).
 *
 * The device here is played by hand over real streams with the real codec and link state: it reads
 * the host's frames, and acknowledges and answers a request only when the test says so.
 */
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeWire,
  FLAG_RELIABLE,
  LinkDriver,
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

async function connected(): Promise<{ client: RpcClient; device: HandDevice }> {
  device = new HandDevice();
  client = new RpcClient(device.hostEnd, {
    maxFrame: 4096,
    requestTimeoutMs: TIMEOUT_MS,
    onEvent: () => {},
    // A slow retransmission schedule, so the link lives long past the request's timeout.
    link: { initialRtoMs: 200, minRtoMs: 200, maxRtoMs: 400, maxRetries: 8, ackDelayMs: 0 },
  });
  await client.request('HELLO', { version: 1, maxFrame: 4096, rxWindow: 65536 });
  expect(client.reliable.enabled).toBe(true);
  return { client, device };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RpcClient: default deadline over the reliable link', () => {
  it('a request whose frame the device has not acknowledged does not time out; its answer after the timeout is taken', async () => {
    const { client, device } = await connected();
    device.deaf = true; // the request's first copies are lost
    const started = Date.now();
    const answer = client.request('PING', { payload: new Uint8Array([7]) });
    await sleep(TIMEOUT_MS * 2); // past the request's own timeout: the link is resending it
    expect(client.reliable.link?.stats.retransmitted).toBeGreaterThan(0);
    device.deaf = false;
    while (device.requests.length === 0) {
      expect(Date.now() - started, 'the resend never arrived').toBeLessThan(5000);
      await sleep(10);
    }
    await sleep(TIMEOUT_MS / 2);
    device.answer(device.requests[0] as RequestMsg);
    const body = await answer;
    expect(Array.from(body.payload)).toEqual([7]);
    expect(Date.now() - started).toBeGreaterThan(TIMEOUT_MS * 2);
  });

  it('once the device acknowledged the request, an unanswered one fails ETIMEDOUT one timeout later', async () => {
    const { client, device } = await connected();
    const started = Date.now();
    const outcome = client.request('PING', { payload: new Uint8Array([1]) }).then(
      () => undefined,
      (e: LinkError) => e,
    );
    while (device.requests.length === 0) await sleep(5);
    await sleep(TIMEOUT_MS / 2);
    device.link.send({ kind: 'event', seq: 0, op: 'CREDIT', body: { sock: 0, bytes: 1 } } as Message); // carries the ack
    const ackedAt = Date.now();
    const err = await outcome;
    expect(err).toBeInstanceOf(LinkError);
    expect(err?.code).toBe('ETIMEDOUT');
    const failedAt = Date.now();
    expect(failedAt - ackedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    expect(failedAt - started).toBeLessThan(TIMEOUT_MS * 4);
  });

  it('a device that never acknowledges fails the request when the link gives up (ETIMEDOUT, no hang)', async () => {
    const { client, device } = await connected();
    device.deaf = true;
    const started = Date.now();
    const err = await client.request('PING', { payload: new Uint8Array([2]) }).then(
      () => undefined,
      (e: LinkError) => e,
    );
    expect(err?.code).toBe('ETIMEDOUT');
    expect(err?.message).toMatch(/link to the coprocessor lost/);
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
