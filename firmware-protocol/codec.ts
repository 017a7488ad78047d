/**
 * The full receive path as one pure push state machine: wire bytes → SLIP frames → validated
 * messages, with every rejected frame reported (never thrown), so a link resynchronises at
 * the next END and the owner can count and log bad frames.
 */

import type { ByteAllocator } from './bytes.js';
import {
  type BadRequest,
  decodeMessage,
  encodeMessageScratch,
  FRAME_OVERHEAD,
  type FrameError,
  type FrameErrorCode,
  type Message,
} from './frame.js';
import { encodeSlip, SlipDecoder } from './slip.js';

export type DecodedItem =
  | { type: 'message'; msg: Message }
  | {
      type: 'bad-frame';
      code: FrameErrorCode | 'oversize' | 'bad-escape';
      reason: string;
      seq?: number;
      /** Set for a request with a good CRC whose opcode or body is bad: it deserves an EINVAL answer. */
      request?: BadRequest;
    };

/**
 * ```ts
 * const dec = new MessageDecoder(4096);
 * for (const item of dec.push(chunk)) if (item.type === 'message') handle(item.msg);
 * ```
 */
export class MessageDecoder {
  private readonly slip: SlipDecoder;

  /** @param maxFrame largest unescaped frame accepted; escaping can at most double it on the wire. */
  constructor(maxFrame: number) {
    this.slip = new SlipDecoder(2 * maxFrame + FRAME_OVERHEAD);
  }

  push(chunk: Uint8Array): DecodedItem[] {
    const out: DecodedItem[] = [];
    for (const item of this.slip.push(chunk)) {
      if (item.type === 'error') {
        out.push({ type: 'bad-frame', code: item.code, reason: `${item.code} (${item.dropped} bytes dropped)` });
        continue;
      }
      try {
        out.push({ type: 'message', msg: decodeMessage(item.frame) });
      } catch (err) {
        const e = err as FrameError;
        out.push({ type: 'bad-frame', code: e.code ?? 'body', reason: e.message, seq: e.seq, request: e.request });
      }
    }
    return out;
  }

  /** Bytes buffered for an unfinished frame. */
  get pending(): number {
    return this.slip.pending;
  }
}

/** Message → wire bytes (frame with CRC, SLIP-escaped, END at both ends), cut from `into` if given. */
export function encodeWire(msg: Message, validate = true, into?: ByteAllocator): Uint8Array {
  return encodeSlip(encodeMessageScratch(msg, validate), into);
}
