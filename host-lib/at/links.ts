/**
 * The link table (ESP-AT's 5 connection ids under AT+CIPMUX=1) and the ONE reducer that applies
 * unsolicited messages to it, whatever moment they arrive: inside a command's reply, between
 * `>` and `Recv N bytes`, glued to an `OK`, or with the channel idle.
 *
 * ```text
 * 0,CONNECT\r\n            → link 0 up (our CIPSTART, or a client accepted by AT+CIPSERVER)
 * \r\n+IPD,0,120\r\n       → passive mode: the device holds unread bytes for link 0
 * \r\n+IPD,3,4,"10.0.0.9",53:data → active mode (UDP links): one datagram, delivered as is
 * 0,CLOSED\r\n             → link 0 down; its socket reads EOF after what it already holds
 * \r\nready\r\n            → the module rebooted
 * ```
 */
import type { at } from '../../firmware-protocol/index.js';
import { TCP_OPT_DEFAULT, type TcpOpt } from './tcp-options.js';

/** What a link reports to the socket that owns it. */
export interface LinkSink {
  /** `<id>,CONNECT` (or `+LINK_CONN`) for a link this socket is connecting. */
  onConnect(): void;
  /** `<id>,CLOSED`: the device has closed the link (peer FIN, reset, or our CIPCLOSE). */
  onClosed(): void;
  /** Data pushed inline (active mode `+IPD,<id>,<len>[,"ip",port]:<data>`). */
  onData(data: Uint8Array, remote: at.Remote | null): void;
  /** The link id now belongs to someone else (the device reused it after CLOSED). */
  onDetached(): void;
  /** Free bytes in the socket's receive buffer: how much a read may fetch. */
  room(): number;
}

/** The listening socket, told about each accepted client. */
export interface AcceptSink {
  onAccept(link: LinkEntry, remote: at.Remote | null): LinkSink;
}

/**
 * `free`: unused. `connecting`: our CIPSTART runs. `open`: up. `closed`: the device dropped it
 * but its socket has not been closed yet. `closing`: our CIPCLOSE runs. `orphan`: up on the
 * device with no socket (to be closed).
 */
export type LinkPhase = 'free' | 'connecting' | 'open' | 'closed' | 'closing' | 'orphan';

export class LinkEntry {
  phase: LinkPhase = 'free';
  sink: LinkSink | null = null;
  /** The device holds unread bytes (a passive `+IPD` notice not yet drained by reads). */
  devData = false;
  /** Counts notices, so a read can tell whether one raced it. */
  notices = 0;
  /** An AT+CIPRECVDATA of this link is in flight. */
  reading = false;
  /** `<id>,CLOSED` came while that read ran: the socket hears of it after the read's data. */
  closedMidRead = false;
  /**
   * Bytes sent on this link less bytes read, kept within one command's worth each way (io.ts):
   * reads and sends take turns by bytes, not by commands.
   */
  sendLead = 0;
  /** Logical time of release, for least-recently-used allocation. */
  lastUsed = 0;
  /** What the module holds for this id's AT+CIPTCPOPT (it keeps them across connections). */
  tcpOpt: TcpOpt = TCP_OPT_DEFAULT;

  constructor(readonly id: number) {}

  /** A connection starts or ends on this id: nothing is owed to or from it. */
  clearIo(): void {
    this.devData = false;
    this.sendLead = 0;
  }

  /** Whether the device may still hand over bytes for this link. */
  get readable(): boolean {
    return this.sink !== null && this.devData && (this.phase === 'open' || this.phase === 'closed');
  }
}

/** Station state as the `WIFI …` URCs tell it. */
export interface WifiState {
  connected: boolean;
  gotIp: boolean;
}

/** What the driver must do after a URC. */
export type UrcEffect = 'none' | 'io' | 'reboot' | { readonly closeLink: number };

export class LinkTable {
  readonly links: readonly LinkEntry[];
  /** The one listening socket ESP-AT allows (AT+CIPSERVER), if any. */
  server: AcceptSink | null = null;
  readonly wifi: WifiState = { connected: false, gotIp: false };
  /** URCs the reducer did not use (unknown lines, events for links nobody owns). */
  ignored = 0;
  private clock = 0;

  constructor(size = 5) {
    this.links = Array.from({ length: size }, (_, id) => new LinkEntry(id));
  }

  get(id: number | null): LinkEntry | undefined {
    return id === null ? undefined : this.links[id];
  }

  /**
   * A free id for our CIPSTART: least recently used, highest id on ties. The firmware gives
   * accepted clients the lowest free id, so starting from the top keeps the two apart, and
   * not reusing a just-freed id keeps a late `<id>,CLOSED` from hitting its next owner.
   */
  allocate(sink: LinkSink): LinkEntry | undefined {
    let best: LinkEntry | undefined;
    for (const e of this.links) {
      if (e.phase !== 'free') continue;
      if (!best || e.lastUsed < best.lastUsed || (e.lastUsed === best.lastUsed && e.id > best.id)) best = e;
    }
    if (best) {
      best.phase = 'connecting';
      best.sink = sink;
      best.clearIo();
    }
    return best;
  }

  /** Gives the id back (after CIPCLOSE, a failed CIPSTART, or a reboot). */
  release(entry: LinkEntry): void {
    entry.phase = 'free';
    entry.sink = null;
    entry.clearIo();
    entry.closedMidRead = false;
    entry.lastUsed = ++this.clock;
  }

  /** Forgets every link (the device rebooted). */
  resetAll(): void {
    for (const e of this.links) {
      this.release(e);
      e.lastUsed = 0;
      e.tcpOpt = TCP_OPT_DEFAULT; // a restarted module starts from its defaults (AT+SYSSTORE=0 assumed)
    }
    this.server = null;
    this.wifi.connected = false;
    this.wifi.gotIp = false;
  }
}

/**
 * The reducer: applies one URC to the table and says what the driver must do next.
 *
 * @example
 * applyUrc(table, { type: 'ipd-notify', link: 0, length: 5, remote: null }); // 'io' (schedule a read)
 * applyUrc(table, { type: 'ready' });                                        // 'reboot'
 */
export function applyUrc(table: LinkTable, m: at.AtMessage): UrcEffect {
  switch (m.type) {
    case 'ready':
      return 'reboot';
    case 'ipd-notify':
      return onNotice(table, table.get(m.link));
    case 'ipd':
      return onInlineData(table, table.get(m.link), m);
    case 'connect':
      return onConnect(table, table.get(m.link), null);
    case 'link-conn':
      return onConnect(table, table.get(m.link), m.remote);
    case 'closed':
    case 'connect-fail':
      return onClosed(table, table.get(m.link));
    case 'wifi':
      return onWifi(table.wifi, m.event);
    default:
      table.ignored++;
      return 'none';
  }
}

function onNotice(table: LinkTable, e: LinkEntry | undefined): UrcEffect {
  if (!e?.sink) {
    table.ignored++;
    return 'none';
  }
  e.devData = true;
  e.notices++;
  return 'io';
}

function onInlineData(table: LinkTable, e: LinkEntry | undefined, m: at.AtMessageOf<'ipd'>): UrcEffect {
  if (!e?.sink) {
    table.ignored++;
    return 'none';
  }
  e.sink.onData(m.data, m.remote);
  return 'none';
}

function onConnect(table: LinkTable, e: LinkEntry | undefined, remote: at.Remote | null): UrcEffect {
  if (!e) {
    table.ignored++;
    return 'none';
  }
  if (e.phase === 'connecting') {
    e.phase = 'open';
    e.sink?.onConnect();
    return 'none';
  }
  if (e.phase === 'open' || e.phase === 'orphan' || e.phase === 'closing') return 'none'; // repeated notice
  if (e.phase === 'closed') e.sink?.onDetached(); // the device reused the id
  if (!table.server) {
    e.phase = 'orphan';
    e.sink = null;
    return { closeLink: e.id };
  }
  e.phase = 'open';
  e.clearIo();
  e.sink = table.server.onAccept(e, remote);
  return 'none';
}

function onClosed(table: LinkTable, e: LinkEntry | undefined): UrcEffect {
  if (!e || e.phase === 'free') {
    table.ignored++;
    return 'none';
  }
  if (e.phase === 'closing') return 'none'; // part of our own AT+CIPCLOSE reply
  if (e.phase === 'orphan') {
    table.release(e);
    return 'none';
  }
  // A failed CIPSTART prints ERROR then CLOSED; its command result decides the socket's fate.
  if (e.phase === 'open') e.phase = 'closed';
  // `0,CLOSED` before the reply of a read in flight (`AT+CIPRECVDATA=0,…` → `0,CLOSED\r\n`
  // `+CIPRECVDATA:75,…`): the last bytes are still coming, so EOF waits for the read.
  if (e.reading) e.closedMidRead = true;
  else e.sink?.onClosed();
  return 'io';
}

function onWifi(wifi: WifiState, event: at.AtMessageOf<'wifi'>['event']): UrcEffect {
  if (event === 'connected') wifi.connected = true;
  else if (event === 'got-ip') wifi.gotIp = wifi.connected = true;
  else if (event === 'disconnected') wifi.connected = wifi.gotIp = false;
  return 'none';
}
