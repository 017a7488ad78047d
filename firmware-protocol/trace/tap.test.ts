import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tapDuplex } from './tap.js';

/** A link whose far end we hold: what the tap's user writes comes out of `far`, what we push arrives. */
function link(): { link: Duplex; sent: Buffer[]; deliver(b: string): void } {
  const sent: Buffer[] = [];
  const incoming = new PassThrough();
  const d = new Duplex({
    read() {},
    write(chunk: Buffer, _e, cb) {
      sent.push(chunk);
      cb();
    },
  });
  incoming.on('data', (c: Buffer) => d.push(c));
  return { link: d, sent, deliver: (b) => incoming.write(b) };
}

describe('tapDuplex', () => {
  it('passes bytes both ways untouched and shows each chunk with its direction', async () => {
    const l = link();
    const seen: string[] = [];
    const tap = tapDuplex(l.link, (dir, chunk) => seen.push(`${dir}:${Buffer.from(chunk).toString()}`));
    const got: string[] = [];
    tap.on('data', (c: Buffer) => got.push(c.toString()));
    await new Promise<void>((r) => tap.write('AT\r\n', () => r()));
    l.deliver('OK\r\n');
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(l.sent).toString()).toBe('AT\r\n');
    expect(got.join('')).toBe('OK\r\n');
    expect(seen).toEqual(['out:AT\r\n', 'in:OK\r\n']);
  });

  it('holds the link while its reader is slow (backpressure), and loses nothing', async () => {
    const l = link();
    const tap = tapDuplex(l.link, () => {});
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 8; i++) l.deliver(big);
    await new Promise((r) => setTimeout(r, 20));
    expect(l.link.isPaused()).toBe(true);
    let total = 0;
    tap.on('data', (c: Buffer) => {
      total += c.length;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(total).toBe(8 * big.length);
  });

  it('closes when the link closes; destroying it closes the link unless told not to', async () => {
    const a = link();
    const tapA = tapDuplex(a.link, () => {});
    a.link.destroy();
    await new Promise((r) => setImmediate(r));
    expect(tapA.destroyed).toBe(true);
    const b = link();
    tapDuplex(b.link, () => {}).destroy();
    expect(b.link.destroyed).toBe(true);
    const c = link();
    tapDuplex(c.link, () => {}, { destroyLink: false }).destroy();
    expect(c.link.destroyed).toBe(false);
  });
});
