/**
 * What a live view shows of one emulated board: its identity, uptime since the last boot,
 * socket table, forwards, the last serial exchanges decoded to text, and the last faults.
 * A BoardWatch is an EmulatorObserver (give it to createEmulator) and makes JSON snapshots.
 *
 * ```ts
 * const watch = new BoardWatch({ protocol: 'slip' });
 * const emu = createEmulator({ observers: [watch] });
 * watch.bind(emu);
 * watch.snapshot();   // { board: {...}, sockets: [...], forwards: [...], exchanges: [...] }
 * ```
 */
import { EventEmitter } from 'node:events';
import { PROTOCOL_VERSION } from '../../firmware-protocol/frame.js';
import { ARROW, hex, SerialDescriber } from '../../firmware-protocol/trace/describe.js';
import { type Direction, type RecordSplitter, recordSplitter } from '../../firmware-protocol/trace/serial-records.js';
import { AtPersonality } from '../at/personality.js';
import type { DeviceSocket } from '../core/socket-table.js';
import type { Emulator } from '../emulator.js';
import type { FaultEvent } from '../faults/index.js';
import type { EmulatorObserver } from './observer.js';

/** Exchanges and faults kept for the view. */
const KEEP = 200;

export interface LinkStatus {
  /** The attached host (`127.0.0.1:51234`, `pty`), or null. */
  host: string | null;
  /** Attachment points: `socket://127.0.0.1:41234`, `pty /dev/pts/5`. */
  transports: string[];
  /** Paced line speed, or null when unpaced. */
  baud: number | null;
}

export interface SocketRow {
  id: number;
  kind: 'tcp' | 'udp';
  state: string;
  local: string;
  remote: string;
  bytesIn: number;
  bytesOut: number;
  /** Received bytes (or queued connections, for a listener) waiting for the host. */
  queued: number;
}

export interface Exchange {
  /** ms since the Unix epoch. */
  t: number;
  dir: Direction;
  text: string;
}

export interface BoardSnapshot {
  board: {
    protocol: 'slip' | 'at';
    profile: string;
    firmware: string;
    bootNonce: string | null;
    bootedAt: number;
    uptimeMs: number;
    ip: string;
    host: string | null;
    attached: boolean;
    transports: string[];
    baud: number | null;
  };
  sockets: SocketRow[];
  forwards: { ip: string; port: number; forwardPort: number }[];
  exchanges: Exchange[];
  faults: (FaultEvent & { t: number })[];
}

export class BoardWatch extends EventEmitter implements EmulatorObserver {
  private emu?: Emulator;
  private bootedAt = Date.now();
  private readonly exchanges: Exchange[] = [];
  private readonly faults: (FaultEvent & { t: number })[] = [];
  private readonly describer = new SerialDescriber();
  private readonly splitters: Record<Direction, RecordSplitter>;
  link: LinkStatus = { host: null, transports: [], baud: null };

  constructor(private readonly o: { protocol: 'slip' | 'at' }) {
    super();
    this.splitters = {
      hostToDevice: recordSplitter(o.protocol, 'hostToDevice'),
      deviceToHost: recordSplitter(o.protocol, 'deviceToHost'),
    };
  }

  /** The board this watch describes (createEmulator returns it after taking the watch). */
  bind(emu: Emulator): this {
    this.emu = emu;
    return this;
  }

  serial(dir: Direction, chunk: Uint8Array): void {
    for (const r of this.splitters[dir].push(chunk)) {
      // Bare acknowledgements of the reliable link are most frames on a busy line and say nothing.
      if (r.kind === 'slip' && r.bytes[4] === 0x91) continue;
      this.keep(this.exchanges, { t: Date.now(), dir, text: this.describer.text(r) });
    }
    this.emit('change');
  }

  fault(e: FaultEvent): void {
    if (e.kind === 'reboot') this.bootedAt = Date.now();
    this.keep(this.faults, { ...e, t: Date.now() });
    this.emit('change');
  }

  /** A line of the host's own (attach, detach, busy) among the exchanges. */
  note(text: string): void {
    this.keep(this.exchanges, { t: Date.now(), dir: 'deviceToHost', text: `-- ${text} --` });
    this.emit('change');
  }

  /** Changes what is known of the line (host attached, transports, baud). */
  setLink(change: Partial<LinkStatus>): void {
    this.link = { ...this.link, ...change };
    this.emit('change');
  }

  snapshot(): BoardSnapshot {
    const emu = this.emu;
    if (!emu) throw new Error('BoardWatch.snapshot() before bind(emulator)');
    const p = emu.personality;
    const at = p instanceof AtPersonality;
    const now = Date.now();
    return {
      board: {
        protocol: this.o.protocol,
        profile: emu.profile.name,
        firmware: at ? `ESP-AT v${p.traits.version}` : `netcoproc SLIP RPC v${PROTOCOL_VERSION}`,
        bootNonce: at ? null : hex(p.bootNonce),
        bootedAt: this.bootedAt,
        uptimeMs: now - this.bootedAt,
        ip: emu.nic.ip,
        host: this.link.host,
        attached: this.link.host !== null,
        transports: this.link.transports,
        baud: this.link.baud,
      },
      sockets: p.table.open().map((s) => socketRow(s, emu.nic.ip)),
      forwards: emu.forwards.map((f) => ({ ip: f.ip, port: f.port, forwardPort: f.forwardPort })),
      exchanges: this.exchanges.slice(-50),
      faults: this.faults.slice(-20),
    };
  }

  /** `host→dev  #3 CONNECT ...` lines of the last exchanges (logs, tests). */
  lines(): string[] {
    return this.exchanges.map((e) => `${ARROW[e.dir]}  ${e.text}`);
  }

  private keep<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > KEEP) list.splice(0, list.length - KEEP);
  }
}

function socketRow(s: DeviceSocket, ip: string): SocketRow {
  const local = `${ip}:${s.localPort || '*'}`;
  const remote = s.peer ? `${s.peer[0]}:${s.peer[1]}` : '';
  if (s.kind === 'udp') {
    const state = s.peer ? 'connected' : 'open';
    return {
      id: s.id,
      kind: 'udp',
      state,
      local,
      remote,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      queued: s.buffered,
    };
  }
  const state = s.hasFailed ? 'failed' : s.peerClosed && s.state === 'connected' ? 'peer closed' : s.state;
  const queued = s.isListening ? s.pendingAccepts : s.buffered;
  return { id: s.id, kind: 'tcp', state, local, remote, bytesIn: s.bytesIn, bytesOut: s.bytesOut, queued };
}
