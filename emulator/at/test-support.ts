/**
 * Test support for the ESP-AT personality: a tap on the UART that checks device bytes exactly,
 * scriptable network peers on loopback, and a replayer for the transcripts of fixtures/at/.
 * Every wait has a deadline and fails with what was expected and what arrived.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { fill, type Step, type Transcript, templateRegex } from '../../fixtures/at/transcripts.js';
import { createEmulator, type Emulator, type EmulatorOptions } from '../emulator.js';

const DEADLINE_MS = 3000;
const POLL_MS = 3;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value, or fails after `ms` with `describe()`. */
export async function until<T>(check: () => T | undefined, describe: () => string, ms = DEADLINE_MS): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(describe());
    await sleep(POLL_MS);
  }
}

/** Printable form of device bytes for failure messages: `"\r\nOK\r\n"`. */
export const show = (s: string) => JSON.stringify(s);

/** Collects what the device writes and matches it, in order, with nothing skipped. */
export class DeviceTap {
  private buf = '';
  private cursor = 0;

  constructor(uart: Duplex) {
    uart.on('data', (chunk: Buffer) => {
      this.buf += chunk.toString('latin1');
    });
  }

  /** Everything not matched yet. */
  get rest(): string {
    return this.buf.slice(this.cursor);
  }

  /** Waits until the unmatched bytes start with `re`; consumes the match. */
  async expect(re: RegExp, label = re.source, ms = DEADLINE_MS): Promise<RegExpExecArray> {
    const m = await until(
      () => re.exec(this.rest) ?? undefined,
      () => `device did not send ${label}; it sent ${show(this.rest)}`,
      ms,
    );
    this.cursor += m[0].length;
    return m;
  }

  /** Exactly `text` next; fails as soon as the bytes that came differ. */
  async expectText(text: string, ms = DEADLINE_MS): Promise<void> {
    const wrong = () => this.rest.length >= text.length && !this.rest.startsWith(text);
    await until(
      () => (this.rest.startsWith(text) ? true : wrong() ? false : undefined),
      () => `device did not send ${show(text)}; it sent ${show(this.rest)}`,
      ms,
    ).then((ok) => {
      if (!ok) throw new Error(`device did not send ${show(text)}; it sent ${show(this.rest)}`);
    });
    this.cursor += text.length;
  }

  /** Waits until `text` appears anywhere ahead and consumes up to its end (for tests that skip URCs). */
  async skipTo(text: string, ms?: number): Promise<string> {
    const at = await until(
      () => {
        const i = this.rest.indexOf(text);
        return i < 0 ? undefined : i;
      },
      () => `device never sent ${show(text)}; it sent ${show(this.rest)}`,
      ms,
    );
    const skipped = this.rest.slice(0, at);
    this.cursor += at + text.length;
    return skipped;
  }

  /** After a quiet moment, nothing unexpected may be left. */
  async expectQuiet(ms = 40): Promise<void> {
    await sleep(ms);
    if (this.rest !== '') throw new Error(`device sent more than expected: ${show(this.rest)}`);
  }
}

/** A network peer a transcript scripts. */
export interface Peer {
  readonly port: number;
  send(data: string): Promise<void>;
  /** Waits until the peer has received `data` next (in order). */
  receive(data: string): Promise<void>;
  close(): Promise<void>;
  connect?(port: number): Promise<void>;
}

/** A loopback TCP server the board connects to; also usable as the board server's client. */
export class TcpPeer implements Peer {
  private server: Server | null = null;
  private conn: Socket | null = null;
  private got = '';
  private cursor = 0;
  port = 0;

  static async listen(): Promise<TcpPeer> {
    const p = new TcpPeer();
    p.server = createServer((s) => p.adopt(s));
    p.server.listen(0, '127.0.0.1');
    await once(p.server, 'listening');
    p.port = (p.server.address() as { port: number }).port;
    return p;
  }

  private adopt(s: Socket): void {
    this.conn = s;
    s.on('data', (d: Buffer) => {
      this.got += d.toString('latin1');
    });
    s.on('error', () => undefined);
  }

  async connect(port: number): Promise<void> {
    const s = connect(port, '127.0.0.1');
    await once(s, 'connect');
    this.adopt(s);
  }

  private async socket(): Promise<Socket> {
    return until(
      () => this.conn ?? undefined,
      () => 'the board never connected to the peer',
    );
  }

  async send(data: string): Promise<void> {
    (await this.socket()).write(Buffer.from(data, 'latin1'));
  }

  async receive(data: string): Promise<void> {
    await until(
      () => (this.got.startsWith(data, this.cursor) ? true : undefined),
      () => `peer expected ${show(data)}, got ${show(this.got.slice(this.cursor))}`,
    );
    this.cursor += data.length;
  }

  async close(): Promise<void> {
    this.conn?.end();
    this.conn?.destroySoon();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A loopback UDP socket; `send` answers whoever sent the last datagram. */
export class UdpPeer implements Peer {
  private readonly datagrams: string[] = [];
  private from: dgram.RemoteInfo | null = null;
  port = 0;

  private constructor(private readonly sock: dgram.Socket) {
    sock.on('message', (msg, rinfo) => {
      this.datagrams.push(msg.toString('latin1'));
      this.from = rinfo;
    });
  }

  static async bind(): Promise<UdpPeer> {
    const p = new UdpPeer(dgram.createSocket('udp4'));
    p.sock.bind(0, '127.0.0.1');
    await once(p.sock, 'listening');
    p.port = p.sock.address().port;
    return p;
  }

  async send(data: string): Promise<void> {
    const to = await until(
      () => this.from ?? undefined,
      () => 'the UDP peer has heard nobody to answer',
    );
    this.sock.send(Buffer.from(data, 'latin1'), to.port, to.address);
  }

  async receive(data: string): Promise<void> {
    await until(
      () => (this.datagrams[0] === undefined ? undefined : this.datagrams.shift()),
      () => `UDP peer expected ${show(data)}, got nothing`,
    ).then((got) => {
      if (got !== data) throw new Error(`UDP peer expected ${show(data)}, got ${show(got)}`);
    });
  }

  async close(): Promise<void> {
    this.sock.close();
  }
}

/** What a replay needs: the UART, the values it knows, its peers, the board server's forward port. */
export interface ReplayEnv {
  uart: Duplex;
  tap: DeviceTap;
  values: Record<string, string>;
  peers: { main?: Peer; other?: Peer };
  forwardPort?: () => number | undefined;
  /** How long each device step may take (default 3 s). */
  deadlineMs?: number;
}

async function peerStep(step: Extract<Step, { peer: string }>, env: ReplayEnv): Promise<void> {
  const peer = step.who === 'other' ? env.peers.other : env.peers.main;
  if (!peer) throw new Error(`the transcript scripts a '${step.who ?? 'main'}' peer the test did not provide`);
  if (step.peer === 'send') return peer.send(step.data ?? '');
  if (step.peer === 'receive') return peer.receive(step.data ?? '');
  if (step.peer === 'close') return peer.close();
  const port = await until(
    () => env.forwardPort?.(),
    () => 'the board reported no forwarded server port',
  );
  await peer.connect?.(port);
}

/** Runs `setup` then `steps`; returns the values, including those captured from device output. */
export async function replay(t: Transcript, env: ReplayEnv): Promise<Record<string, string>> {
  for (const step of [...t.setup, ...t.steps]) {
    if ('host' in step) env.uart.write(Buffer.from(fill(step.host, env.values), 'latin1'));
    else if ('device' in step) {
      const m = await env.tap.expect(templateRegex(t, step.device, env.values), show(step.device), env.deadlineMs);
      Object.assign(env.values, m.groups);
    } else if ('peer' in step) await peerStep(step, env);
    else await sleep(step.idle);
  }
  await env.tap.expectQuiet();
  return env.values;
}

/** An ESP-AT board on the UART, booted, with its banner consumed. */
export interface AtRig {
  readonly emu: Emulator;
  readonly tap: DeviceTap;
  /** Writes host bytes (a string is latin-1). */
  send(data: string | Uint8Array): void;
  /** Sends `line` and expects exactly `reply` next. */
  exchange(line: string, reply: string, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Boots an ESP-AT emulator (joined, fast timings) and turns echo off unless `echo` is true.
 *
 * @example const at = await atRig(); await at.exchange('AT\r\n', '\r\nOK\r\n');
 */
export async function atRig(options: EmulatorOptions = {}, echo = false): Promise<AtRig> {
  const emu = createEmulator({
    protocol: 'at',
    ...options,
    atTiming: { joinMs: 5, pingTimeoutMs: 100, connectTimeoutMs: 500, ...options.atTiming },
  });
  const tap = new DeviceTap(emu.uart);
  const send = (data: string | Uint8Array) =>
    emu.uart.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  const rig: AtRig = {
    emu,
    tap,
    send,
    async exchange(line, reply, ms) {
      send(line);
      await tap.expectText(reply, ms);
    },
    close: () => emu.close(),
  };
  await tap.skipTo('\r\nready\r\n');
  if (emu.network.hosts.wifi.autoJoin !== null) await tap.expectText('WIFI CONNECTED\r\nWIFI GOT IP\r\n');
  if (!echo) await rig.exchange('ATE0\r\n', 'ATE0\r\n\r\nOK\r\n');
  return rig;
}
