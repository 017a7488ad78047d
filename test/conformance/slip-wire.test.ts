/**
 * SPEC.md on the wire, for every SLIP device implementation (the TypeScript emulator's profiles
 * and the MicroPython agent): a bare host writes frames, also malformed ones, and checks the
 * answers byte for byte where SPEC says what they are. Where two implementations differ here,
 * one of them (or SPEC) has a bug.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAP, errno as E, FLAG_RELIABLE, type Message, POLL_BITS as P } from '../../firmware-protocol/index.js';
import { loopbackServer } from './helpers.js';
import { type RawLink, selectedTargets } from './targets.js';
import { WireHost } from './wire-host.js';

const TCP = { family: 2, type: 1, proto: 6 };
const UDP = { family: 2, type: 2, proto: 17 };
const int32 = (v: number) => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);

describe.each(selectedTargets().filter((t) => t.raw))('$name', (target) => {
  let raw: RawLink;
  let host: WireHost;
  beforeEach(async () => {
    raw = await (target.raw as () => Promise<RawLink>)();
    host = new WireHost(raw.link);
  });
  afterEach(async () => {
    await raw.close();
  });

  it('§4.4 session: PING works before HELLO, anything else answers EPERM', async () => {
    const payload = Uint8Array.of(0xc0, 0xdb, 0, 0xff);
    const ping = await host.request('PING', { payload });
    expect(ping.status).toBe(0);
    expect(Buffer.from((ping as Extract<Message, { op: 'PING'; status: 0 }>).body.payload)).toEqual(
      Buffer.from(payload),
    );
    expect((await host.request('SOCKET', TCP)).status).toBe(E.EPERM); // 1 in both numberings
  });

  it('§4.4 rev 1.1: an empty PING answers the boot nonce (before and after HELLO), capability pingNonce', async () => {
    const before = await host.request('PING', { payload: new Uint8Array(0) });
    const first = await host.hello();
    expect(first.body.capabilities & CAP.pingNonce).toBe(CAP.pingNonce);
    const after = await host.request('PING', { payload: new Uint8Array(0) });
    for (const r of [before, after])
      expect(Buffer.from((r as Extract<Message, { op: 'PING'; status: 0 }>).body.payload)).toEqual(
        Buffer.from(first.body.bootNonce),
      );
  });

  it('§4.4 HELLO: bad version EPROTONOSUPPORT, tiny maxFrame EINVAL; a new HELLO closes every socket', async () => {
    const first = await host.hello();
    expect(first.body.version).toBe(1);
    const { tcp, udp, server } = CAP;
    expect(first.body.capabilities & (tcp | udp | server)).toBe(tcp | udp | server); // all of them serve
    if (host.got[0]?.op === 'BOOT')
      expect(first.body.bootNonce).toEqual((host.got[0] as { body: { bootNonce: Uint8Array } }).body.bootNonce);
    expect(host.errno(await host.request('HELLO', { version: 2, maxFrame: 4096, rxWindow: 4096 }))).toBe(
      E.EPROTONOSUPPORT,
    );
    expect(host.errno(await host.request('HELLO', { version: 1, maxFrame: 63, rxWindow: 4096 }))).toBe(E.EINVAL);
    const { sock } = await host.ok('SOCKET', TCP);
    const again = await host.hello();
    expect(again.body.bootNonce).toEqual(first.body.bootNonce);
    expect(host.errno(await host.request('CLOSE', { sock }))).toBe(E.EBADF);
  });

  it('§2 a malformed request with a good CRC is not executed, the link stays in step; an answer is EINVAL', async () => {
    await host.hello();
    const seqs = [
      host.rawSend(0x10, Uint8Array.of(2, 1, 6, 0)), // SOCKET with a trailing byte
      host.rawSend(0x11, new Uint8Array(0)), // CLOSE without its sock
      host.rawSend(0x90, Uint8Array.of(0, 0, 0, 0, 1)), // CREDIT (an event) sent as a request
      host.rawSend(0x7e, Uint8Array.of(1, 2)), // no such opcode
    ];
    expect((await host.ok('SOCKET', TCP)).sock).toBe(0); // the malformed SOCKET made none
    await new Promise((r) => setTimeout(r, 50));
    // SPEC §2: such a request is answered EINVAL (same seq, its own opcode), so the host fails fast.
    for (const seq of seqs) expect(host.answerTo(seq), `answer to seq ${seq}`).toBe(E.EINVAL);
  });

  it('§4.4 socket table: lowest free id, ENFILE when full, EBADF and POLLNVAL for a free id', async () => {
    const { body } = await host.hello();
    const ids: number[] = [];
    for (let i = 0; i < body.maxSockets; i++) ids.push((await host.ok('SOCKET', i % 2 ? UDP : TCP)).sock);
    expect(ids).toEqual([...ids.keys()]);
    expect(host.errno(await host.request('SOCKET', TCP))).toBe(E.ENFILE);
    await host.ok('CLOSE', { sock: 2 });
    expect(host.errno(await host.request('CLOSE', { sock: 2 }))).toBe(E.EBADF);
    expect((await host.ok('POLL', { entries: [{ sock: 2, events: P.POLLIN }] })).entries).toEqual([
      { sock: 2, events: P.POLLNVAL },
    ]);
    expect((await host.ok('SOCKET', UDP)).sock).toBe(2);
    expect(host.errno(await host.request('SOCKET', { family: 99, type: 1, proto: 0 }))).toBe(E.EAFNOSUPPORT);
  });

  it('§4.4 bad type EINVAL; SETSOCKOPT: unknown options accepted, ints are 4 bytes, > 64 bytes EINVAL', async () => {
    await host.hello();
    await host.ok('CLOSE', { sock: (await host.ok('SOCKET', TCP)).sock }); // nothing left over
    expect(host.errno(await host.request('SOCKET', { family: 2, type: 9, proto: 0 }))).toBe(E.EINVAL);
    const { sock } = await host.ok('SOCKET', TCP);
    await host.ok('SETSOCKOPT', { sock, level: 1, option: 4, value: int32(1) }); // SO_REUSEADDR
    await host.ok('SETSOCKOPT', { sock, level: 0xfff, option: 0x777, value: int32(5) }); // unknown
    const long = await host.request('SETSOCKOPT', { sock, level: 0xfff, option: 0x777, value: new Uint8Array(65) });
    expect(host.errno(long)).toBe(E.EINVAL);
  });

  it('§4.4 resolver: an IP literal resolves to itself, type 0 reported as SOCK_STREAM/IPPROTO_TCP', async () => {
    await host.hello();
    const { entries } = await host.ok('GETADDRINFO', {
      host: '127.0.0.1',
      port: 7,
      family: 0,
      type: 0,
      proto: 0,
      flags: 0,
    });
    expect(entries[0]).toEqual({ family: 2, type: 1, proto: 6, canonname: '', addr: ['127.0.0.1', 7] });
    const udp = await host.ok('GETADDRINFO', { host: '127.0.0.1', port: 9, family: 2, type: 2, proto: 0, flags: 0 });
    expect(udp.entries[0]).toMatchObject({ family: 2, type: 2, proto: 17, addr: ['127.0.0.1', 9] });
    expect(
      host.errno(
        await host.request('GETADDRINFO', {
          host: 'no-such-name.invalid',
          port: 1,
          family: 0,
          type: 0,
          proto: 0,
          flags: 0,
        }),
      ),
    ).toBeLessThan(0);
  });

  it('§4.4 connect: EINPROGRESS, then CONNECTED after the response; EALREADY/EISCONN; ENOTCONN, EINVAL, EAGAIN', async () => {
    const peer = await loopbackServer();
    await host.hello();
    const { sock } = await host.ok('SOCKET', TCP);
    expect(host.errno(await host.request('SEND', { sock, data: Uint8Array.of(1) }))).toBe(E.ENOTCONN);
    expect(host.errno(await host.request('ACCEPT', { sock }))).toBe(E.EINVAL);
    const started = await host.request('CONNECT', { sock, addr: ['127.0.0.1', peer.port] });
    expect([0, E.EINPROGRESS]).toContain(host.errno(started));
    if (started.status !== 0) {
      const again = host.errno(await host.request('CONNECT', { sock, addr: ['127.0.0.1', peer.port] }));
      expect([E.EALREADY, E.EISCONN]).toContain(again);
      const ev = await host.until((m) => m.op === 'CONNECTED', 'CONNECTED');
      expect(host.got.indexOf(ev)).toBeGreaterThan(host.got.indexOf(started));
      expect(ev).toMatchObject({ kind: 'event', body: { sock, status: 0 } });
    }
    expect(host.errno(await host.request('CONNECT', { sock, addr: ['127.0.0.1', peer.port] }))).toBe(E.EISCONN);
    const srv = (await host.ok('SOCKET', TCP)).sock;
    await host.ok('BIND', { sock: srv, addr: ['127.0.0.1', 0] });
    await host.ok('LISTEN', { sock: srv, backlog: 1 });
    expect(host.errno(await host.request('ACCEPT', { sock: srv }))).toBe(E.EAGAIN);
    await peer.close();
  });

  it('§4.4 data: DATA within the credit, EOF after the last byte; CLOSE cancels, nothing follows it', async () => {
    const peer = await loopbackServer((c) => c.end(Buffer.alloc(3000, 7)));
    await host.hello(1000);
    const { sock } = await host.ok('SOCKET', TCP);
    await host.request('CONNECT', { sock, addr: ['127.0.0.1', peer.port] });
    await host.until((m) => m.op === 'DATA', 'DATA');
    await new Promise((r) => setTimeout(r, 150));
    const data = () => host.got.filter((m) => m.op === 'DATA') as Extract<Message, { op: 'DATA' }>[];
    const bytes = () => data().reduce((n, m) => n + m.body.data.length, 0);
    expect(bytes()).toBe(1000); // the whole credit, and not one byte more
    expect(host.got.some((m) => m.op === 'EOF')).toBe(false);
    host.event({ kind: 'event', op: 'CREDIT', body: { sock, bytes: 5000 } });
    await host.until((m) => m.op === 'EOF', 'EOF');
    expect(bytes()).toBe(3000);
    expect(host.got.findIndex((m) => m.op === 'EOF')).toBeGreaterThan(host.got.lastIndexOf(data().at(-1) as Message));
    await host.ok('CLOSE', { sock });
    const after = host.got.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(host.got.slice(after).filter((m) => m.kind === 'event')).toEqual([]);
    await peer.close();
  });
  it('§7 reliable link: granted in HELLO; numbered in order; a duplicate is dropped unprocessed, a gap acknowledged', async () => {
    const r = await host.request('HELLO', { version: 1, maxFrame: 4096, rxWindow: 65536 }, { flags: FLAG_RELIABLE });
    expect(r.status).toBe(0);
    expect(r.link).toBeUndefined(); // HELLO is never numbered
    expect(r.flags).toBe(FLAG_RELIABLE);
    const link = (seq: number, ack = 0xffff) => ({ link: { seq, ack, unnumbered: false } });
    const first = await host.request('SOCKET', TCP, link(0));
    expect(first).toMatchObject({ status: 0, body: { sock: 0 }, link: { seq: 0, ack: 0, unnumbered: false } });
    const before = host.got.length;
    host.send('SOCKET', TCP, link(0, first.link?.seq)); // a retransmission of frame 0
    const ack = await host.until((m) => host.got.indexOf(m) >= before && m.op === 'ACK', 'ACK for the duplicate');
    // A plain acknowledgement (linkSeq 1): a duplicate reports no gap (SPEC §7).
    expect(ack.link).toEqual({ seq: 1, ack: 0, unnumbered: true });
    host.send('SOCKET', TCP, link(5, first.link?.seq)); // after a gap: not executed either
    const gap = await host.until(
      (m) => host.got.indexOf(m) > host.got.indexOf(ack) && m.op === 'ACK',
      'ACK for the gap',
    );
    expect(gap.link).toEqual({ seq: 0, ack: 0, unnumbered: true }); // a loss report (linkSeq 0)
    const next = await host.request('SOCKET', TCP, link(1, first.link?.seq));
    expect(next).toMatchObject({ status: 0, body: { sock: 1 }, link: { seq: 1, ack: 1 } });
    expect(host.got.filter((m) => m.op === 'SOCKET')).toHaveLength(2); // the duplicate and the gap made none
  });

  it('§2 + §7 a malformed numbered request is answered EINVAL and keeps its place in the numbering', async () => {
    const r = await host.request('HELLO', { version: 1, maxFrame: 4096, rxWindow: 65536 }, { flags: FLAG_RELIABLE });
    expect(r.flags).toBe(FLAG_RELIABLE);
    const bad = [
      host.rawSend(0x7e, Uint8Array.of(1), { seq: 0, ack: 0xffff }), // no such opcode
      host.rawSend(0x10, Uint8Array.of(2, 1), { seq: 1, ack: 0xffff }), // SOCKET one byte short
    ];
    // Frame 2 is accepted only if the device counted frames 0 and 1.
    const next = await host.request('SOCKET', TCP, { link: { seq: 2, ack: 0xffff, unnumbered: false } });
    expect(next).toMatchObject({ status: 0, body: { sock: 0 } });
    for (const seq of bad) expect(host.answerTo(seq), `answer to seq ${seq}`).toBe(E.EINVAL);
  });
});
