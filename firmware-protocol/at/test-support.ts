/**
 * Helpers for the AT grammar tests: byte literals, and feeding a parser the same input whole,
 * split at every position, one byte at a time, or in given chunks.
 */

import { concatBytes } from '../bytes.js';
import { type AtCommandEvent, AtCommandParser, type AtCommandParserOptions } from './command-parser.js';
import type { AtMessage } from './messages.js';
import { AtResponseParser, type AtResponseParserOptions } from './response-parser.js';

/** Latin-1 literal to bytes, so `'\xff'` is the byte 0xff: `bytes('\r\nOK\r\n')`. */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Concatenates byte arrays. */
export function join(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** Cuts `input` at the given offsets (sorted, deduplicated, out-of-range ignored). */
export function cut(input: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.filter((o) => o > 0 && o < input.length))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, input.length]) {
    chunks.push(input.subarray(from, p));
    from = p;
  }
  return chunks;
}

/** Every way the tests chunk one input: whole, each single split point, byte by byte. */
export function chunkings(input: Uint8Array): Uint8Array[][] {
  const ways: Uint8Array[][] = [[input]];
  for (let i = 1; i < input.length; i++) ways.push(cut(input, [i]));
  ways.push(Array.from(input, (_, i) => input.subarray(i, i + 1)));
  return ways;
}

/** Feeds chunks to a fresh response parser; each chunk is copied so the parser cannot rely on aliasing. */
export function parseResponses(chunks: readonly Uint8Array[], options?: AtResponseParserOptions): AtMessage[] {
  const p = new AtResponseParser(options);
  return chunks.flatMap((c) => p.feed(c.slice()));
}

/**
 * Parses `input` in every chunking and asserts all agree; returns the messages.
 * Throws with the failing split so a test failure is readable.
 */
export function parseEverySplit(input: Uint8Array, options?: AtResponseParserOptions): AtMessage[] {
  const reference = parseResponses([input], options);
  const expected = JSON.stringify(reference, replacer);
  for (const chunks of chunkings(input)) {
    const got = JSON.stringify(parseResponses(chunks, options), replacer);
    if (got !== expected) throw new Error(`chunking [${chunks.map((c) => c.length)}] gave ${got}, not ${expected}`);
  }
  return reference;
}

/** JSON replacer that shows byte arrays as latin-1 text. */
export function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `<${text(value)}>` : value;
}

/**
 * Drives a command parser like the emulator would: after a prompting set command it calls
 * `expectData(<length>)` (escaped for CIPSENDEX) at once. Returns all events.
 */
export function driveCommands(chunks: readonly Uint8Array[], options?: AtCommandParserOptions): AtCommandEvent[] {
  const p = new AtCommandParser(options);
  const events: AtCommandEvent[] = [];
  const take = (batch: AtCommandEvent[]) => {
    for (const e of batch) {
      events.push(e);
      if (e.kind !== 'command' || !e.prompt) continue;
      if (e.form === 'set') take(p.expectData(Number(e.args.length), { escaped: e.name === 'CIPSENDEX' }));
      else take(p.resume());
    }
  };
  for (const c of chunks) take(p.feed(c.slice()));
  return events;
}

/** {@link driveCommands} over every chunking of `input`, asserting they agree. */
export function driveEverySplit(input: Uint8Array, options?: AtCommandParserOptions): AtCommandEvent[] {
  const reference = driveCommands([input], options);
  const expected = JSON.stringify(reference, replacer);
  for (const chunks of chunkings(input)) {
    const got = JSON.stringify(driveCommands(chunks, options), replacer);
    if (got !== expected) throw new Error(`chunking [${chunks.map((c) => c.length)}] gave ${got}, not ${expected}`);
  }
  return reference;
}

/** Text of a byte array (latin-1), for readable assertions. */
export function text(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');
}
