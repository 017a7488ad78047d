/**
 * THE opcode table of the SLIP RPC: one row per operation with its number and the layout of
 * its request, response and event bodies. SPEC.md documents the same rows field by field;
 * codecs and zod schemas come from here, for the host and the emulator alike.
 *
 * Response bodies below are the success layout; every response starts with an i16 status
 * (0 = ok) added by the frame codec, and a failed response carries a UTF-8 message instead.
 */
import { blob16, fixed, i16, list8, rest, sockaddr, str8, struct, u8, u16, u32, type Wire } from './wire.js';

const sock = { sock: u8 };
const empty = struct({});

/** A socket address, MicroPython's sockaddr tuple `[ip, port]`: the one definition both sides use. */
export type SockAddr = [string, number];

/** One getaddrinfo entry as the wire carries it (host-lib builds MicroPython's 5-tuple from it). */
export interface AddrInfo {
  family: number;
  type: number;
  proto: number;
  canonname: string;
  addr: SockAddr;
}

export const addrinfo: Wire<AddrInfo> = struct({ family: u8, type: u8, proto: u8, canonname: str8, addr: sockaddr });
export const pollEntry = struct({ sock: u8, events: u8 });

export const OPS = {
  // session
  HELLO: {
    code: 0x01,
    request: struct({ version: u8, maxFrame: u32, rxWindow: u32 }),
    response: struct({
      version: u8,
      profile: str8,
      capabilities: u32,
      maxFrame: u32,
      txWindow: u32,
      maxSockets: u8,
      errnoBase: u8,
      bootNonce: fixed(8),
    }),
  },
  PING: { code: 0x02, request: struct({ payload: rest }), response: struct({ payload: rest }) },
  /** Change the serial line's settings: answered at the old ones, then both ends switch. */
  UART_CONFIG: {
    code: 0x03,
    request: struct({ baudRate: u32, dataBits: u8, parity: u8, stopBits: u8 }),
    response: empty,
  },
  // sockets, shaped like BSD calls
  SOCKET: { code: 0x10, request: struct({ family: u8, type: u8, proto: u8 }), response: struct(sock) },
  CLOSE: { code: 0x11, request: struct(sock), response: empty },
  BIND: { code: 0x12, request: struct({ ...sock, addr: sockaddr }), response: struct({ addr: sockaddr }) },
  LISTEN: { code: 0x13, request: struct({ ...sock, backlog: u8 }), response: struct({ forwardPort: u16 }) },
  ACCEPT: { code: 0x14, request: struct(sock), response: struct({ ...sock, addr: sockaddr }) },
  CONNECT: { code: 0x15, request: struct({ ...sock, addr: sockaddr }), response: empty },
  SEND: { code: 0x16, request: struct({ ...sock, data: rest }), response: struct({ count: u32 }) },
  SENDTO: { code: 0x17, request: struct({ ...sock, addr: sockaddr, data: rest }), response: struct({ count: u32 }) },
  SETSOCKOPT: {
    code: 0x18,
    request: struct({ ...sock, level: u16, option: u16, value: blob16 }),
    response: empty,
  },
  GETADDRINFO: {
    code: 0x19,
    request: struct({ host: str8, port: u16, family: u8, type: u8, proto: u8, flags: u8 }),
    response: struct({ entries: list8(addrinfo) }),
  },
  POLL: { code: 0x1a, request: struct({ entries: list8(pollEntry) }), response: struct({ entries: list8(pollEntry) }) },
  /** Since rev 1.2 (capability `shutdown`): half-close; `how` 1 = SHUT_WR sends FIN after every earlier SEND. */
  SHUTDOWN: { code: 0x1b, request: struct({ ...sock, how: u8 }), response: empty },
  // TLS on the device (IPPROTO_SEC sockets): options set before connect; the handshake runs in CONNECT
  TLS_WRAP: {
    code: 0x20,
    request: struct({
      ...sock,
      serverSide: u8,
      certReqs: u8,
      sslVersion: u8,
      keyfile: str8,
      certfile: str8,
      caCerts: str8,
      serverHostname: str8,
    }),
    response: empty,
  },
  // the device's file store (certificates under /flash/cert/)
  FILE_WRITE: { code: 0x40, request: struct({ path: str8, offset: u32, truncate: u8, data: rest }), response: empty },
  FILE_READ: {
    code: 0x41,
    request: struct({ path: str8, offset: u32, length: u16 }),
    response: struct({ data: rest }),
  },
  FILE_LIST: {
    code: 0x42,
    request: struct({ dir: str8 }),
    response: struct({ entries: list8(struct({ name: str8, size: u32 })) }),
  },
  FILE_DELETE: { code: 0x43, request: struct({ path: str8 }), response: empty },
  /** rev 1.1: replaces `to` with `from` at once (a multi-frame write is staged, then renamed). */
  FILE_RENAME: { code: 0x44, request: struct({ from: str8, to: str8 }), response: empty },
  // device → host events
  BOOT: { code: 0x80, event: struct({ version: u8, bootNonce: fixed(8) }) },
  DATA: { code: 0x81, event: struct({ ...sock, data: rest }) },
  DGRAM: { code: 0x82, event: struct({ ...sock, addr: sockaddr, data: rest }) },
  CONNECTED: { code: 0x83, event: struct({ ...sock, status: i16 }) },
  EOF: { code: 0x84, event: struct(sock) },
  SOCKERR: { code: 0x85, event: struct({ ...sock, status: i16 }) },
  ACCEPTABLE: { code: 0x86, event: struct({ ...sock, pending: u8 }) },
  // host → device events
  CREDIT: { code: 0x90, event: struct({ ...sock, bytes: u32 }) },
  // either direction, reliable link only: an acknowledgement with nothing else to carry (SPEC §7)
  ACK: { code: 0x91, event: empty },
} as const;

export type Ops = typeof OPS;
export type OpName = keyof Ops;
export type RequestOp = { [K in OpName]: Ops[K] extends { request: unknown } ? K : never }[OpName];
export type EventOp = { [K in OpName]: Ops[K] extends { event: unknown } ? K : never }[OpName];

/** Capability bits announced in the hello response. */
export const CAP = {
  tcp: 1 << 0,
  udp: 1 << 1,
  server: 1 << 2,
  ipv6: 1 << 3,
  tlsOnDevice: 1 << 4,
  files: 1 << 5,
  wlan: 1 << 6,
  /** Revision 1.1 (SPEC §4.4): a PING with an empty payload is answered with the boot nonce. */
  pingNonce: 1 << 7,
  /** Revision 1.2 (SPEC §4.4): the device implements SHUTDOWN (half-close). */
  shutdown: 1 << 8,
} as const;

/** `how` of SHUTDOWN, as BSD shutdown(2). */
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;

const byCode = new Map<number, OpName>(Object.entries(OPS).map(([name, op]) => [op.code, name as OpName]));

/** Opcode number → name; undefined for an unknown opcode. */
export function opName(code: number): OpName | undefined {
  return byCode.get(code);
}
