/**
 * The device agent's pure parts under REAL MicroPython (the WebAssembly build, v1.27): its files
 * are written into MicroPython's filesystem and imported unchanged. SLIP, CRC-32, the SPEC §5
 * worked example and request dispatch (HELLO, PING, SOCKET, CLOSE, errors) are checked against
 * the TypeScript codec. MicroPython has no `socket` here: a JS object stands in for it
 * (mp.registerJsModule) and records what the agent asked of the stack. One runtime per file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DecodedItem,
  errno as E,
  encodeMessage,
  encodeSlip,
  encodeWire,
  type Message,
  MessageDecoder,
  type RequestBody,
  type RequestOp,
} from '../firmware-protocol/index.js';

const AGENT_DIR = fileURLToPath(new URL('../firmware-protocol/micropython/', import.meta.url));

interface MicroPython {
  FS: { mkdir(p: string): void; writeFile(p: string, data: string): void };
  runPython(code: string): unknown;
  registerJsModule(name: string, module: object): void;
  globals: { get(k: string): unknown; set(k: string, v: unknown): void };
}

let mp: MicroPython;
const stack: string[] = [];

/** Stand-in for MicroPython's `socket` module: records calls, hands out inert socket objects. */
const jsSocket = {
  AF_INET: 2,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  socket(af: number, type: number, proto: number) {
    stack.push(`socket(${af}, ${type}, ${proto})`);
    const n = stack.length;
    return {
      setblocking: (flag: boolean) => stack.push(`#${n}.setblocking(${flag})`),
      close: () => stack.push(`#${n}.close()`),
    };
  },
};

const HARNESS = `
import agent, ncp_wire, socket, binascii

class Link:
    signals_writable = True
    def __init__(self):
        self.out = []
    def write(self, mv):
        self.out.append(bytes(mv))
        return len(mv)
    def want_write(self, flag):
        pass
    def take(self):
        b = b''.join(self.out)
        self.out = []
        return b

class NoPoll:
    def set(self, obj, mask, cb=None):
        pass

link = Link()
dev = agent.Agent(link, net=socket, poller=NoPoll(), config={'max_sockets': 2})

def hexes(frames):
    return ','.join([binascii.hexlify(f).decode() for f in frames])
`;

const py = (code: string): unknown => mp.runPython(code);
const pyBytes = (expr: string): Buffer => {
  py(`_out = ${expr}`);
  return Buffer.from(Uint8Array.from(mp.globals.get('_out') as Iterable<number>));
};
const pyStr = (expr: string): string => {
  py(`_out = ${expr}`);
  return mp.globals.get('_out') as string;
};
/** Numbers travel as text: MicroPython ints above 2**31 do not survive the JS proxy as numbers. */
const pyNum = (expr: string): number => Number(pyStr(`str(${expr})`));
const setBytes = (name: string, b: Uint8Array): void => {
  mp.globals.set(`_js_${name}`, b);
  py(`${name} = bytes(_js_${name})`);
};

beforeAll(async () => {
  const pkg: string = '@micropython/micropython-webassembly-pyscript';
  const { loadMicroPython } = (await import(pkg)) as { loadMicroPython: (o: object) => Promise<MicroPython> };
  mp = await loadMicroPython({ stdout: () => undefined, stderr: () => undefined });
  mp.FS.mkdir('/lib');
  for (const f of readdirSync(AGENT_DIR).filter((n) => n.endsWith('.py')))
    mp.FS.writeFile(`/lib/${f}`, readFileSync(`${AGENT_DIR}${f}`, 'utf8'));
  mp.registerJsModule('socket', jsSocket);
  py(HARNESS);
});

it('really is MicroPython', () => {
  expect(pyStr("__import__('sys').implementation.name")).toBe('micropython');
});

describe('SLIP and CRC-32 under MicroPython', () => {
  const frames = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => {
    // Make the two special bytes common, so escapes are exercised in every run.
    for (let i = 0; i < b.length; i += 7) b[i] = i % 14 ? 0xc0 : 0xdb;
    return b;
  });

  it('slip_encode equals the TypeScript encoder, and the decoder inverts it for any chunking', () => {
    fc.assert(
      fc.property(fc.array(frames, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 64 }), (list, step) => {
        for (const f of list) {
          setBytes('f', f);
          expect(pyBytes('ncp_wire.slip_encode(f)')).toEqual(Buffer.from(encodeSlip(f)));
        }
        const wire = Buffer.concat(list.map((f) => encodeSlip(f)));
        py('d = ncp_wire.SlipDecoder(400); got = []');
        for (let at = 0; at < wire.length; at += step) {
          setBytes('chunk', wire.subarray(at, at + step));
          py('got += d.feed(chunk)');
        }
        expect(pyStr('hexes(got)')).toBe(list.map((f) => Buffer.from(f).toString('hex')).join(','));
      }),
      { numRuns: 40 },
    );
  });

  it('discards line noise before the first END, bad escapes and oversize frames, then resynchronises', () => {
    const good = Buffer.from([1, 2, 3]);
    const wire = Buffer.concat([
      Buffer.from('MicroPython banner\r\n>>> '),
      encodeSlip(good),
      Buffer.from([0xc0, 0x01, 0xdb, 0x41, 0xc0]), // DB followed by neither DC nor DD
      encodeSlip(new Uint8Array(17)), // longer than this decoder's 16
      encodeSlip(good),
    ]);
    setBytes('w', wire);
    py('d = ncp_wire.SlipDecoder(16); got = []');
    for (let i = 0; i < wire.length; i++) py(`got += d.feed(w[${i}:${i + 1}])`); // one byte at a time
    expect(pyStr('hexes(got)')).toBe('010203,010203');
    expect(pyNum('d.dropped')).toBe(3);
  });

  it('CRC-32 (binascii and the hand-written table for the WiPy) equals zlib', () => {
    const inputs = [Buffer.alloc(0), Buffer.from('123456789'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))];
    inputs.push(...fc.sample(fc.uint8Array({ maxLength: 2000 }), 10).map((b) => Buffer.from(b)));
    for (const b of inputs) {
      setBytes('b', b);
      const want = crc32(b) >>> 0;
      expect(pyNum('ncp_wire.crc32(b)')).toBe(want);
      expect(pyNum('ncp_wire.crc32_py(b)')).toBe(want);
    }
  });
});

describe('the SPEC §5 worked example, byte for byte', () => {
  const hex = (s: string): string => s.replace(/ /g, '');

  it('encodes the SOCKET request and its response exactly as written', () => {
    expect(
      pyBytes("ncp_wire.slip_encode(ncp_wire.encode_frame(0, 0x0102, 0x10, b'\\x02\\x01\\x06'))").toString('hex'),
    ).toBe(hex('c0 01 00 01 02 10 00 02 01 06 89 d1 7d ca c0'));
    expect(
      pyBytes("ncp_wire.slip_encode(ncp_wire.encode_frame(1, 0x0102, 0x10, b'\\x00\\x00\\x00'))").toString('hex'),
    ).toBe(hex('c0 01 01 01 02 10 00 00 00 00 b6 87 3d 4e c0'));
  });

  it('encodes the failed CONNECT and the DATA event carrying c0 41', () => {
    const refused = pyBytes("ncp_wire.encode_frame(1, 7, 0x15, b'\\x00\\x6fconnection refused')");
    expect(refused.subarray(0, 12).toString('hex')).toBe(hex('01 01 00 07 15 00 00 6f 63 6f 6e 6e'));
    const data = Buffer.from(hex('01 02 00 05 81 00 00 c0 41'), 'hex');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(data) >>> 0);
    const want = encodeSlip(Buffer.concat([data, crc]));
    expect(pyBytes("ncp_wire.slip_encode(ncp_wire.encode_frame(2, 5, 0x81, b'\\x00\\xc0\\x41'))")).toEqual(
      Buffer.from(want),
    );
    expect(Buffer.from(want).subarray(0, 11).toString('hex')).toBe(hex('c0 01 02 00 05 81 00 00 db dc 41'));
  });
});

describe('request dispatch under MicroPython', () => {
  const decoder = new MessageDecoder(1 << 16);
  let seq = 0x0100;

  /** Sends requests into the agent; returns everything it wrote back, decoded by the TS codec. */
  type Req = { [N in RequestOp]: { op: N; body: RequestBody<N> } }[RequestOp];
  function exchange(...reqs: (Req | Uint8Array)[]): DecodedItem[] {
    const wire = reqs.map((r) =>
      r instanceof Uint8Array ? r : encodeWire({ kind: 'request', seq: seq++, ...r } as Message),
    );
    setBytes('chunk', Buffer.concat(wire));
    py('dev.feed(chunk)');
    return decoder.push(pyBytes('link.take()'));
  }
  const messages = (items: DecodedItem[]): Message[] =>
    items.map((i) => (i.type === 'message' ? i.msg : ({ bad: i.code } as unknown as Message)));
  const statusOf = (m: Message | undefined): number | undefined => (m as { status?: number } | undefined)?.status;
  let nonce: Uint8Array;

  it('announces BOOT with a random 8-byte nonce before anything else', () => {
    const [boot] = messages(decoder.push(pyBytes('link.take()')));
    expect(boot).toMatchObject({ kind: 'event', op: 'BOOT', body: { version: 1 } });
    nonce = (boot as Extract<Message, { op: 'BOOT' }>).body.bootNonce;
    expect(nonce.length).toBe(8);
    expect(Buffer.from(nonce).equals(Buffer.alloc(8))).toBe(false);
  });

  it("answers anything before HELLO with EPERM ('hello first')", () => {
    const [r] = messages(exchange({ op: 'SOCKET', body: { family: 2, type: 1, proto: 6 } }));
    expect(r).toMatchObject({ kind: 'response', op: 'SOCKET', status: E.EPERM, message: 'hello first' });
  });

  it('answers HELLO with its profile, limits and the BOOT nonce', () => {
    const [r] = messages(exchange({ op: 'HELLO', body: { version: 1, maxFrame: 4096, rxWindow: 65536 } }));
    expect(r).toMatchObject({
      op: 'HELLO',
      status: 0,
      // tcp, udp, server, pingNonce (SPEC rev 1.1)
      body: { version: 1, profile: 'webassembly', capabilities: 7 | 128, maxSockets: 2, errnoBase: 0 },
    });
    const body = (r as Extract<Message, { op: 'HELLO'; status: 0 }>).body;
    expect(body.maxFrame).toBeGreaterThanOrEqual(1034);
    expect(Buffer.from(body.bootNonce).equals(Buffer.from(nonce))).toBe(true);
  });

  it('an empty PING answers the boot nonce (SPEC rev 1.1)', () => {
    const [r] = messages(exchange({ op: 'PING', body: { payload: new Uint8Array(0) } }));
    const body = (r as Extract<Message, { op: 'PING'; status: 0 }>).body;
    expect(Buffer.from(body.payload).equals(Buffer.from(nonce))).toBe(true);
  });

  it('PING echoes every byte value', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const [r] = messages(exchange({ op: 'PING', body: { payload } }));
    expect(r).toMatchObject({ op: 'PING', status: 0 });
    expect(
      Buffer.from((r as Extract<Message, { op: 'PING'; status: 0 }>).body.payload).equals(Buffer.from(payload)),
    ).toBe(true);
  });

  it('SOCKET opens a non-blocking stack socket at the lowest free id; a full table answers ENFILE', () => {
    stack.length = 0;
    const tcp = { op: 'SOCKET', body: { family: 2, type: 1, proto: 0 } } as const;
    const rs = messages(exchange(tcp, { op: 'SOCKET', body: { family: 2, type: 2, proto: 17 } }, tcp));
    expect(rs.map((r) => [statusOf(r), (r as { body?: { sock: number } }).body?.sock])).toEqual([
      [0, 0],
      [0, 1],
      [E.ENFILE, undefined],
    ]);
    expect((rs[2] as { message: string }).message).toBe('socket table full (2 sockets)');
    expect(stack).toEqual(['socket(2, 1, 6)', '#1.setblocking(false)', 'socket(2, 2, 17)', '#3.setblocking(false)']);
    const [closed, again] = messages(exchange({ op: 'CLOSE', body: { sock: 0 } }, tcp));
    expect(statusOf(closed)).toBe(0);
    expect(again).toMatchObject({ status: 0, body: { sock: 0 } });
    expect(stack).toContain('#1.close()');
  });

  it('rejects bad requests with EINVAL/EBADF/EAFNOSUPPORT/EOPNOTSUPP, and ignores a frame with a bad CRC', () => {
    const withTrailing = encodeMessage({ kind: 'request', seq: 0x0777, op: 'CLOSE', body: { sock: 1 } });
    const frame = Buffer.from(withTrailing);
    const broken = Buffer.concat([frame.subarray(0, 7), Buffer.from([0]), frame.subarray(7)]); // body + 1 byte
    const fixCrc = (b: Buffer): Buffer => {
      b.writeUInt32BE(crc32(b.subarray(0, b.length - 4)) >>> 0, b.length - 4);
      return b;
    };
    const badCrc = Buffer.from(frame);
    badCrc[6] = 9;
    const badBefore = pyNum('dev.bad_frames');
    const rs = messages(
      exchange(
        encodeSlip(fixCrc(broken)),
        encodeSlip(badCrc),
        { op: 'CLOSE', body: { sock: 7 } },
        { op: 'SOCKET', body: { family: 10, type: 1, proto: 0 } },
        { op: 'SETSOCKOPT', body: { sock: 0, level: 0xffff, option: 0x1234, value: new Uint8Array(3) } },
        { op: 'SETSOCKOPT', body: { sock: 0, level: 1, option: 4, value: new Uint8Array(2) } },
        {
          op: 'TLS_WRAP',
          body: {
            sock: 0,
            serverSide: 0,
            certReqs: 0,
            sslVersion: 3,
            keyfile: '',
            certfile: '',
            caCerts: '',
            serverHostname: '',
          },
        },
      ),
    );
    expect(rs.map((r) => [(r as { seq: number }).seq === 0x0777 ? 'bad' : r.op, statusOf(r)])).toEqual([
      ['bad', E.EINVAL],
      ['CLOSE', E.EBADF],
      ['SOCKET', E.EAFNOSUPPORT],
      ['SETSOCKOPT', 0], // an unknown option is accepted, as on MicroPython
      ['SETSOCKOPT', E.EINVAL], // SO_REUSEADDR needs a 4-byte int
      ['TLS_WRAP', E.EOPNOTSUPP],
    ]);
    expect(pyNum('dev.bad_frames') - badBefore).toBe(2);
  });

  it('a new HELLO starts a clean session: every socket is closed', () => {
    stack.length = 0;
    const [r] = messages(exchange({ op: 'HELLO', body: { version: 1, maxFrame: 4096, rxWindow: 65536 } }));
    expect(statusOf(r)).toBe(0);
    expect(stack.filter((s) => s.endsWith('.close()')).length).toBe(2);
    const [s] = messages(exchange({ op: 'SOCKET', body: { family: 2, type: 1, proto: 6 } }));
    expect(s).toMatchObject({ status: 0, body: { sock: 0 } });
  });
});
