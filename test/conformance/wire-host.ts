/**
 * A bare SLIP RPC host for wire-level conformance: writes frames (also deliberately malformed
 * ones) and collects what the device answers, with a deadline on every wait. No host-lib, so
 * what a test sees is exactly what the device put on the line.
 *
 * ```ts
 * const host = new WireHost(raw.link);
 * const r = await host.request('PING', { payload: Uint8Array.of(1) });
 * ```
 */
import type { Duplex } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  decodeMessage,
  type EventMsg,
  encodeSlip,
  encodeWire,
  type FrameExtras,
  type Message,
  type RequestBody,
  type RequestOp,
  type ResponseBody,
  type ResponseMsg,
  SlipDecoder,
  toLinuxErrno,
} from '../../firmware-protocol/index.js';

/** A response frame the codec cannot decode (its opcode is unknown): what the header says. */
export interface RawResponse {
  seq: number;
  opcode: number;
  status: number;
}

export class WireHost {
  /** Everything the device sent, in order (BOOT included). */
  readonly got: Message[] = [];
  /** Well-formed response frames with an opcode the codec does not know (answers to such requests). */
  readonly unknown: RawResponse[] = [];
  /** errno numbering of the device, from its HELLO answer. */
  base: 'linux' | 'newlib' = 'linux';
  private readonly slip = new SlipDecoder(1 << 18);
  private seq = 100;

  constructor(private readonly link: Duplex) {
    link.on('data', (d: Buffer) => {
      for (const item of this.slip.push(d)) if (item.type === 'frame') this.onFrame(item.frame);
    });
  }

  private onFrame(f: Uint8Array): void {
    try {
      this.got.push(decodeMessage(f));
    } catch {
      // A response to an unknown opcode carries that opcode: header and status are still readable.
      const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const intact = f.length >= 12 && v.getUint32(f.length - 4) === crc32(f.subarray(0, f.length - 4)) >>> 0;
      if (intact && f[1] === 1)
        this.unknown.push({ seq: v.getUint16(2), opcode: v.getUint8(4), status: v.getInt16(f[5]! & 1 ? 10 : 6) });
    }
  }

  /** Waits until a message matching `pred` arrived (3 s deadline) and returns it. */
  async until<M extends Message>(pred: (m: Message) => m is M, what: string, ms?: number): Promise<M>;
  async until(pred: (m: Message) => boolean, what: string, ms?: number): Promise<Message>;
  async until(pred: (m: Message) => boolean, what: string, ms = 3000): Promise<Message> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.got.find(pred);
      if (m) return m;
      if (Date.now() >= deadline) throw new Error(`no ${what} within ${ms} ms; got ${this.summary()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** One request; resolves with its response, whatever the status. `extras`: flags, a link header (SPEC §7). */
  async request<N extends RequestOp>(
    op: N,
    body: RequestBody<N>,
    extras: FrameExtras = {},
  ): Promise<ResponseMsg & FrameExtras> {
    return this.response(this.send(op, body, extras), op);
  }

  /** Writes one request without waiting; returns its seq. */
  send<N extends RequestOp>(op: N, body: RequestBody<N>, extras: FrameExtras = {}): number {
    const seq = this.nextSeq();
    this.link.write(encodeWire({ kind: 'request', seq, op, body, ...extras } as Message));
    return seq;
  }

  /** A request frame built by hand (good CRC, any opcode and body): for malformed requests. Returns its seq. */
  rawSend(opcode: number, body: Uint8Array, link?: { seq: number; ack: number }): number {
    const seq = this.nextSeq();
    const head = link ? Uint8Array.of(link.seq >> 8, link.seq & 255, link.ack >> 8, link.ack & 255) : new Uint8Array(0);
    const end = 6 + head.length + body.length;
    const frame = new Uint8Array(end + 4);
    frame.set([1, 0, seq >> 8, seq & 255, opcode, link ? 1 : 0]);
    frame.set(head, 6);
    frame.set(body, 6 + head.length);
    new DataView(frame.buffer).setUint32(end, crc32(frame.subarray(0, end)) >>> 0);
    this.link.write(encodeSlip(frame));
    return seq;
  }

  /** The status (Linux numbering) of what arrived for `seq` so far, decodable or not; undefined = no answer. */
  answerTo(seq: number): number | undefined {
    const m = this.got.find((x) => x.kind === 'response' && x.seq === seq) as ResponseMsg | undefined;
    const status = m?.status ?? this.unknown.find((x) => x.seq === seq)?.status;
    return status === undefined ? undefined : this.errno({ status });
  }

  /** Host → device event (CREDIT, ACK). */
  event(msg: Omit<EventMsg, 'seq'>): void {
    this.link.write(encodeWire({ ...msg, seq: this.nextSeq() } as Message));
  }

  /** A successful HELLO; remembers the device's errno numbering. */
  async hello(rxWindow = 65536): Promise<{ body: ResponseBody<'HELLO'> }> {
    const body = await this.ok('HELLO', { version: 1, maxFrame: 4096, rxWindow });
    this.base = body.errnoBase === 1 ? 'newlib' : 'linux';
    return { body };
  }

  /** A response's status in Linux numbering (0 = success, negative = resolver). */
  errno(r: { status: number }): number {
    return r.status > 0 ? toLinuxErrno(r.status, this.base) : r.status;
  }

  /** A request that must succeed; returns its body. */
  async ok<N extends RequestOp>(op: N, body: RequestBody<N>): Promise<ResponseBody<N>> {
    const r = await this.request(op, body);
    if (r.status !== 0) throw new Error(`${op} failed with status ${r.status}: ${(r as { message?: string }).message}`);
    return (r as unknown as { body: ResponseBody<N> }).body;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0xffff;
    return this.seq;
  }

  private response(seq: number, what: string): Promise<ResponseMsg & FrameExtras> {
    return this.until(
      (m): m is ResponseMsg => m.kind === 'response' && m.seq === seq,
      `response to ${what} (seq ${seq})`,
    );
  }

  private summary(): string {
    return JSON.stringify(this.got.map((m) => [m.kind, m.op, (m as { status?: number }).status]));
  }
}
