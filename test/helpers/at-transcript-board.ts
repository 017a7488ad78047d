/**
 * The little ESP-AT board behind the transcript player (at-transcript-player.ts): the state a
 * transcript implies (links, receive mode, CIPDINFO, Wi-Fi, echo) and the answers to commands the
 * transcript does not show but a driver legitimately sends — its start-up probe, `AT+CIPSTATE?`
 * for accept(), background `AT+CIPRECVDATA` reads, Wi-Fi queries. Answers have the byte shapes of
 * esp-at.md §1–2 (v3.4 firmware). It also renders data in the receive mode the driver chose:
 *
 * ```text
 * active link:  \r\n+IPD,4,4,"192.168.3.102",8080:test    (with AT+CIPDINFO=1)
 * passive link: \r\n+IPD,4,4\r\n   then   AT+CIPRECVDATA=4,8192 → +CIPRECVDATA:4,"192.168.3.102",8080,test\r\nOK\r\n
 * ```
 *
 * A peer's `CLOSED` on a passive link that still holds bytes is withheld until they are read,
 * as the firmware does (esp-at.md §2 "Passive receive").
 */
import type { at } from '../../firmware-protocol/index.js';
import { gmrReply } from '../../host-lib/at/fake-device.js';

type Args = Record<string, string | number>;

/** What the board is, before anything happens. */
export interface BoardOptions {
  /** `AT version:` of AT+GMR (default 3.4.0.0: CIPRECVTYPE, 8192-byte sends). */
  version: string;
  /** AT+CIPRECVTYPE / AT+CIPRECVMODE work; otherwise both answer "unsupported" and links stay active. */
  passiveReceive: boolean;
  /** AT+CIPDINFO=1 is accepted. */
  remoteInfo: boolean;
  /** AT+CIPMUX at open. */
  mux: 0 | 1;
  /** SSID joined at boot, or null. */
  joined: string | null;
  /** AT+CWMODE at open (1 = station). */
  wifiMode: number;
  /** What AT+CIPDNS? names (DHCP hands out the gateway). */
  dnsServer: string;
  /** Names AT+CIPDOMAIN resolves when the transcript does not show the lookup. */
  names: Readonly<Record<string, string>>;
  /** Address of a client the board's server accepts (AT+CIPSTATE? tells it). */
  acceptedPeer: readonly [string, number];
}

export const DEFAULT_BOARD: BoardOptions = {
  version: '3.4.0.0',
  passiveReceive: true,
  remoteInfo: true,
  mux: 0,
  joined: 'netcoproc',
  wifiMode: 1,
  dnsServer: '192.168.3.1',
  names: {},
  acceptedPeer: ['192.168.4.2', 49469],
};

/** One link (ids 0–4). */
export interface BoardLink {
  readonly type: string;
  readonly remote: readonly [string, number];
  readonly localPort: number;
  readonly server: boolean;
  open: boolean;
  /** Bytes held for AT+CIPRECVDATA (passive mode). */
  rx: string;
  /** The peer closed while bytes were held: CLOSED comes after they are read. */
  closedPending: boolean;
}

/** Who may have a command answered from the board: start-up + prologue, the transcript, or after it. */
export type Phase = 'startup' | 'transcript' | 'teardown';

const OK = '\r\nOK\r\n';
const LINKS = 5;
const ERR_UNSUPPORTED = 0x01090000;
const ERR_FAILED = 0x010a0000;

type Handler = (b: Board, a: Args, phase: Phase) => string | null;

/**
 * The commands the board answers by itself — THE list of what a driver may send that a
 * transcript does not show. Anything else must match the transcript, or the replay fails.
 * A handler returns null when the command is not the board's to answer in this phase.
 */
const GENERIC: { readonly [name: string]: { readonly [form: string]: Handler } } = {
  AT: { execute: () => OK },
  ATE0: { execute: (b) => b.apply('ATE0', {}, OK) },
  GMR: { execute: (b) => gmrReply(b.opts.version) },
  SYSLOG: { set: (b, a) => b.apply('SYSLOG', a, OK) },
  CIPMUX: {
    query: (b) => `+CIPMUX:${b.mux}\r\n${OK}`,
    set: (b, a) => (b.links.some((l) => l?.open) ? b.error(ERR_FAILED) : b.apply('CIPMUX', a, OK)),
  },
  CIPSTATE: { query: (b) => b.cipstate() },
  CIPRECVTYPE: { set: (b, a) => (b.opts.passiveReceive ? b.apply('CIPRECVTYPE', a, OK) : b.error(ERR_UNSUPPORTED)) },
  CIPRECVMODE: { set: (b, a) => (b.opts.passiveReceive ? b.apply('CIPRECVMODE', a, OK) : b.error(ERR_UNSUPPORTED)) },
  CIPDINFO: { set: (b, a) => (b.opts.remoteInfo ? b.apply('CIPDINFO', a, OK) : b.error(ERR_UNSUPPORTED)) },
  CIPRECVDATA: { set: (b, a) => b.read(Number(a.link_id), Number(a.len)) },
  CIPRECVLEN: {
    query: (b) => `+CIPRECVLEN:${b.links.map((l) => (l?.open ? l.rx.length : -1)).join(',')}\r\n${OK}`,
  },
  CWSTATE: {
    query: (b) => `+CWSTATE:${b.gotIp ? `2,"${b.ssid}"` : `${b.wasJoined ? 4 : 0},""`}\r\n${OK}`,
  },
  CWMODE: { query: (b) => `+CWMODE:${b.wifiMode}\r\n${OK}` },
  CIPDNS: { query: (b) => `+CIPDNS:0,"${b.opts.dnsServer}"\r\n${OK}` },
  CIPDOMAIN: {
    set: (b, a) => {
      const ip = b.opts.names[String(a.domain)];
      return ip ? `+CIPDOMAIN:"${ip}"\r\n${OK}` : b.error(ERR_FAILED);
    },
  },
  // The driver writes every SSL setting of a link before AT+CIPSTART "SSL" (host-lib/at/ssl.ts);
  // no transcript shows ALPN, and clearing it (count 0) changes nothing a transcript shows.
  CIPSSLCALPN: { set: (_b, a) => (a.counts === 0 ? OK : null) },
  // Links the test opens before the transcript starts (a prologue), and closes after it ends.
  CIPSTART: {
    set: (b, a, phase) => {
      if (phase !== 'startup') return null;
      b.starting(a);
      return `${b.connect(Number(a.link_id))}${OK}`;
    },
  },
  CIPCLOSE: {
    set: (b, a, phase) => {
      if (phase === 'transcript') return null;
      const id = Number(a.link_id);
      return b.links[id]?.open ? `${b.closed(id, true)}${OK}` : b.error(ERR_FAILED);
    },
  },
  CIPSERVER: { set: (b, a, phase) => (phase === 'transcript' || a.mode !== 0 ? null : b.apply('CIPSERVER', a, OK)) },
};

export class Board {
  echo = true;
  syslog = false;
  mux: 0 | 1;
  dinfo = false;
  /** AT+CIPRECVTYPE=5,1 / AT+CIPRECVMODE=1. */
  passiveAll = false;
  /** Per-id receive mode (AT+CIPRECVTYPE=<id>,<mode>), null = the global one. Set before a link opens, too. */
  readonly linkMode: (boolean | null)[] = new Array(LINKS).fill(null);
  readonly links: (BoardLink | undefined)[] = new Array(LINKS).fill(undefined);
  server: number | null = null;
  wifiMode: number;
  ssid: string;
  gotIp: boolean;
  wasJoined: boolean;

  constructor(readonly opts: BoardOptions) {
    this.mux = opts.mux;
    this.wifiMode = opts.wifiMode;
    this.ssid = opts.joined ?? '';
    this.gotIp = this.wasJoined = opts.joined !== null;
  }

  /** The board's own answer to a parsed command, or null if it is not one it answers here. */
  answer(cmd: at.ParsedCommand, phase: Phase): string | null {
    const handler = GENERIC[cmd.name]?.[cmd.form];
    return handler ? handler(this, cmd.args, phase) : null;
  }

  /** `\r\nERROR\r\n`, after `ERR CODE:` once AT+SYSLOG=1. */
  error(code: number): string {
    const hex = code.toString(16).padStart(8, '0');
    return this.syslog ? `ERR CODE:0x${hex}\r\n\r\nERROR\r\n` : '\r\nERROR\r\n';
  }

  /**
   * What a successful command changes — for the board's own answers and for the transcript's
   * replies alike. Returns `reply`, so handlers can end with it.
   */
  apply(name: string, a: Args, reply: string): string {
    if (name === 'ATE0') this.echo = false;
    else if (name === 'SYSLOG') this.syslog = a.status === 1;
    else if (name === 'CIPMUX') this.mux = a.mode === 1 ? 1 : 0;
    else if (name === 'CIPDINFO') this.dinfo = a.mode === 1;
    else if (name === 'CIPRECVMODE') this.passiveAll = a.mode === 1;
    else if (name === 'CIPRECVTYPE') this.setRecvType(a);
    else if (name === 'CWMODE') this.wifiMode = Number(a.mode);
    else if (name === 'CWJAP' && a.ssid !== undefined) this.ssid = String(a.ssid);
    else if (name === 'CIPSERVER') this.server = a.mode === 1 ? Number(a.port ?? 333) : null;
    return reply;
  }

  private setRecvType(a: Args): void {
    const passive = a.mode === 1;
    if (a.link_id === undefined || a.link_id === LINKS) {
      this.passiveAll = passive;
      this.linkMode.fill(null);
    } else this.linkMode[Number(a.link_id)] = passive;
  }

  isPassive(id: number): boolean {
    return this.linkMode[id] ?? this.passiveAll;
  }

  /** AT+CIPSTART is running: the link opens at its `CONNECT`. */
  starting(a: Args): void {
    const id = Number(a.link_id);
    const remote: [string, number] = [String(a.remote_host), Number(a.remote_port)];
    const localPort = Number(a.local_port ?? 0);
    this.links[id] = {
      type: String(a.type),
      remote,
      localPort,
      server: false,
      open: false,
      rx: '',
      closedPending: false,
    };
  }

  /** A CIPSTART that did not print CONNECT leaves no link. */
  settle(id: number): void {
    if (!this.links[id]?.open) this.links[id] = undefined;
  }

  /** The id the firmware gives an accepted client: the lowest free one. */
  lowestFree(): number | undefined {
    const id = this.links.indexOf(undefined);
    return id < 0 ? undefined : id;
  }

  /** `<id>,CONNECT`: our CIPSTART's link opens, or the server accepted a client on it. */
  connect(id: number): string {
    const link = this.links[id];
    if (link) link.open = true;
    else {
      if (this.server === null) throw new Error(`${id},CONNECT with no CIPSTART running and no server`);
      const peer = this.opts.acceptedPeer;
      this.links[id] = {
        ...{ type: 'TCP', remote: [peer[0], peer[1]], localPort: this.server },
        ...{ server: true, open: true, rx: '', closedPending: false },
      };
    }
    return `${id},CONNECT\r\n`;
  }

  /** `<id>,CLOSED`. A peer close on a passive link holding bytes is withheld until they are read. */
  closed(id: number, ours: boolean): string {
    const link = this.links[id];
    if (!ours && link && link.rx.length > 0 && this.isPassive(id)) {
      link.closedPending = true;
      return '';
    }
    this.links[id] = undefined;
    return `${id},CLOSED\r\n`;
  }

  /** Data from the network for a link, in that link's receive mode. */
  deliver(id: number, data: string, remote: readonly [string, number] | null): string {
    const link = this.openLink(id);
    const from = remote ?? link.remote;
    if (!this.isPassive(id)) return `\r\n+IPD,${id},${data.length}${this.remoteText(from, ':')}${data}`;
    const first = link.rx.length === 0;
    link.rx += data;
    // One notice until the host has drained the link (esp-at.md §2 "Passive receive").
    return first ? `\r\n+IPD,${id},${link.rx.length}\r\n` : '';
  }

  /** AT+CIPRECVDATA=<id>,<n>: up to n held bytes, then a withheld CLOSED if the link is now drained. */
  read(id: number, n: number): string {
    const link = this.links[id];
    if (!link || !this.isPassive(id) || link.rx.length === 0) return this.error(ERR_FAILED);
    const data = link.rx.slice(0, n);
    return `${this.take(id, data)}${OK}${this.releaseClosed(id)}`;
  }

  /** Takes `data` (which must be what the link holds next) and renders `+CIPRECVDATA:<n>,…<data>`. */
  take(id: number, data: string): string {
    const link = this.openLink(id);
    if (!link.rx.startsWith(data)) {
      throw new Error(`link ${id} holds ${JSON.stringify(link.rx)}, not ${JSON.stringify(data)}`);
    }
    link.rx = link.rx.slice(data.length);
    return `+CIPRECVDATA:${data.length}${this.remoteText(link.remote, ',')}${data}`;
  }

  /** The CLOSED withheld for a drained link ('' if none). */
  releaseClosed(id: number): string {
    const link = this.links[id];
    return link?.closedPending && link.rx.length === 0 ? this.closed(id, true) : '';
  }

  /** A server client is open (AT+CIPSERVER=0,1 would close it). */
  hasServerClients(): boolean {
    return this.links.some((l) => l?.open && l.server);
  }

  cipstate(): string {
    const lines = this.links.flatMap((l, id) =>
      l?.open
        ? [`+CIPSTATE:${id},"${l.type}","${l.remote[0]}",${l.remote[1]},${l.localPort},${l.server ? 1 : 0}\r\n`]
        : [],
    );
    return `${lines.join('')}${OK}`;
  }

  /** `WIFI CONNECTED` / `WIFI GOT IP` / `WIFI DISCONNECT` as the board's own state. */
  wifiEvent(line: string): void {
    if (line.startsWith('WIFI GOT IP')) this.gotIp = this.wasJoined = true;
    else if (line.startsWith('WIFI DISCONNECT')) this.gotIp = false;
  }

  private openLink(id: number): BoardLink {
    const link = this.links[id];
    if (!link?.open) throw new Error(`the transcript has data for link ${id}, which is not open on the board`);
    return link;
  }

  private remoteText(remote: readonly [string, number], end: string): string {
    return this.dinfo ? `,"${remote[0]}",${remote[1]}${end}` : end;
  }
}
