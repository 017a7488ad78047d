import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DeviceOutput } from './device-output.js';

describe('DeviceOutput', () => {
  it('drops output with no host, delivers with one, pauses on a full host until resume', () => {
    const uart = new PassThrough();
    const out = new DeviceOutput(uart);
    const got: string[] = [];
    uart.write('dropped');
    let room = true;
    out.attach((chunk) => {
      got.push(chunk.toString());
      return room;
    });
    room = false;
    uart.write('first');
    expect(uart.isPaused()).toBe(true);
    uart.write('held');
    expect(got).toEqual(['first']);
    room = true;
    out.resume();
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      expect(got).toEqual(['first', 'held']);
      out.close();
      expect(uart.isPaused()).toBe(true);
    });
  });

  it('keeps a shared UART paused while any reader is blocked', () => {
    const uart = new PassThrough();
    const a = new DeviceOutput(uart);
    const b = new DeviceOutput(uart);
    const seen: string[] = [];
    a.attach((chunk) => {
      seen.push(`a:${chunk}`);
      return false; // a's host is full
    });
    b.attach((chunk) => {
      seen.push(`b:${chunk}`);
      return true;
    });
    uart.write('x');
    expect(seen).toEqual(['a:x', 'b:x']);
    b.resume(); // b's host drained, but a's is still full
    expect(uart.isPaused()).toBe(true);
    a.detach();
    expect(uart.isPaused()).toBe(false);
    a.close();
    expect(uart.isPaused()).toBe(false); // b still reads
    b.close();
    expect(uart.isPaused()).toBe(true);
  });
});
