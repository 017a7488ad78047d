/**
 * What a command handler sees of the emulated ESP-AT board ({@link AtDevice}), the handler
 * signature, and {@link AtFail}, the one way a handler reports `ERROR`.
 *
 * A handler returns nothing for a plain `\r\nOK\r\n`, or `'done'` when it wrote its own ending
 * (the `>` prompt, `SEND OK`, an OK followed by URCs). Throwing an AtFail writes, in order, its
 * `before` messages, `ERR CODE:0x…` when AT+SYSLOG=1, `\r\nERROR\r\n`, then its `after` messages.
 */
import {
  type AtErrorSubcategory,
  type AtForm,
  type AtMessage,
  type CommandName,
  errCode,
  type ParamValue,
} from '../../firmware-protocol/at/index.js';
import type { SocketTable } from '../core/socket-table.js';
import type { TlsFileSource } from '../core/tls.js';
import type { AccessPoint, HostsTable, NetInterface } from '../network/index.js';
import type { Random } from '../random.js';
import type { Link, LinkTable } from './link-table.js';
import type { AtQuirkPlayer } from './quirks.js';
import type { Settings } from './settings.js';
import type { VersionTraits } from './versions.js';

/** A parsed command as the handler gets it. */
export interface AtCommand {
  readonly name: CommandName;
  readonly form: AtForm;
  readonly params: ParamValue[];
  /** Non-empty parameters by declared name: `{ link_id: 0, type: 'TCP', remote_host: 'echo.test', … }`. */
  readonly args: Record<string, string | number>;
}

/**
 * One handler per command form. Returning (or resolving with) nothing means the device writes
 * OK; `'done'` means the handler wrote the ending itself.
 */
export type AtHandler = (dev: AtDevice, cmd: AtCommand) => unknown;

/** What a handler settled with. */
export type Outcome = 'done' | undefined;

/** A command's handlers by form; a form the table lists must have one. */
export type FormHandlers = { readonly [F in AtForm]?: AtHandler };

/** Receives CIPSEND payload bytes after the `>` prompt. */
export type PayloadHandler = (data: Uint8Array) => Promise<void> | void;

/** Station state. */
export interface WifiStatus {
  joined: AccessPoint | null;
  /** Has been joined since boot (AT+CWSTATE 4 "disconnected" vs 0 "idle"). */
  wasJoined: boolean;
}

/** Delays the emulator uses where a real board takes time; all short by default so tests stay fast. */
export interface AtTiming {
  /** AT+CWJAP (and autoconnect after AT+CWMODE) takes this long. */
  joinMs: number;
  /** AT+CIPSTART deadline when the host gives no `<timeout>` (lwIP would retry SYNs far longer). */
  connectTimeoutMs: number;
  /** How long AT+PING waits for a host that never answers. */
  pingTimeoutMs: number;
  /** Delay between AT+CIPSNTPCFG=1 and `+TIME_UPDATED`. */
  sntpSyncMs: number;
}

/** The one TCP server AT+CIPSERVER may run. */
export interface ServerState {
  readonly sock: number;
  readonly port: number;
  readonly type: string;
  readonly caEnable: number;
}

/** The board as handlers see it. Implemented by AtPersonality. */
export interface AtDevice {
  readonly traits: VersionTraits;
  readonly settings: Settings;
  readonly links: LinkTable;
  readonly table: SocketTable;
  /** This board's attachment to the virtual network (its address is `network.ip`). */
  readonly network: NetInterface;
  /** The network's hosts table: access points, gateway, subnet, virtual hosts. */
  readonly hosts: HostsTable;
  readonly wifi: WifiStatus;
  readonly random: Random;
  readonly timing: AtTiming;
  /** The real-firmware quirks switched on (quirks.ts); handlers ask it whether one plays now. */
  readonly quirks: AtQuirkPlayer;
  /** The board's file store: the stand-in for ESP-AT's certificate partitions (SSL links). */
  readonly files?: TlsFileSource | undefined;
  server: ServerState | null;
  /** Milliseconds since the last boot (the SNTP clock before a sync). */
  readonly uptimeMs: number;
  /** The UART's reader is full (push() said no): data waits in the sockets until it drains. */
  readonly outputBlocked: boolean;
  /** Writes messages to the UART now (responses and URCs alike). */
  say(...messages: AtMessage[]): void;
  /** Writes `+NAME:<raw>\r\n`. */
  info(prefix: string, raw: string): void;
  /** The `link` field of messages: the id under AT+CIPMUX=1, null under 0 (`CONNECT` vs `0,CONNECT`). */
  label(link: Link | number): number | null;
  /** Changes AT+CIPMUX, which also decides how the parser reads `[<id>,]` parameters. */
  setMux(mode: 0 | 1): void;
  /** After writing `\r\nOK\r\n\r\n>`: the next `length` host bytes go to `onData` (the command runs until it settles). */
  expectPayload(length: number, escaped: boolean, onData: PayloadHandler): void;
  /** After writing the `>` of AT+CIPSEND in CIPMODE=1: every host byte goes to `link` until `+++`. */
  enterPassthrough(link: Link): void;
  /** Hands the host what a link has: +IPD data, a passive notification, or CLOSED. */
  pump(link: Link): void;
  /** Closes a link and its socket; `announce` writes `[<id>,]CLOSED`. */
  closeLink(link: Link, announce: boolean): void;
  /** Resolves when the socket's connect completes; rejects with the errno name or on timeout. */
  waitConnected(sock: number, timeoutMs: number): Promise<void>;
  /** Waits `ms`; rejects with {@link Superseded} if the board reboots meanwhile. */
  sleep(ms: number): Promise<void>;
  /** Passes `p` through, but rejects with {@link Superseded} if the board rebooted before it settled. */
  guard<T>(p: Promise<T>): Promise<T>;
  /** An lwIP-style ephemeral local port for a new TCP link. */
  nextLocalPort(): number;
  /** Power-cycles the board: links gone, RAM settings from NVS, `\r\nready\r\n`. */
  reboot(): void;
  /** A server socket is reachable from this machine at 127.0.0.1:forwardPort. */
  forwarded(port: number, forwardPort: number): void;
  /** AT+UART_CUR/DEF changed the live UART setting (after its OK went out at the old rate). */
  uartChanged(): void;
}

/**
 * A command failure. `code` is the 32-bit ERR CODE value (`errCode('execFailed')` = 0x010a0000).
 *
 * @example throw new AtFail(errCode('execFailed'), 'link 3 is not open');
 */
export class AtFail extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Lines written before ERR CODE/ERROR, e.g. `+CWJAP:3`. */
    readonly before: readonly AtMessage[] = [],
    /** Lines written after ERROR, e.g. `0,CLOSED` for a failed connect. */
    readonly after: readonly AtMessage[] = [],
  ) {
    super(message);
  }
}

/**
 * The board rebooted while a command waited: its continuation must do nothing (the link and
 * socket ids it holds may already belong to the new boot).
 */
export class Superseded extends Error {
  constructor() {
    super('the board rebooted while the command ran');
  }
}

/** Shorthand: `fail('execFailed', 'no link')` → an AtFail with ERR CODE 0x010a0000. */
export function fail(sub: AtErrorSubcategory, message: string, extension = 0): AtFail {
  return new AtFail(errCode(sub, extension), message);
}

/** A set parameter was refused by a rule the grammar table cannot express (sub-error 0x07). */
export function badParam(index: number, message: string): AtFail {
  return new AtFail(errCode('paramInvalid', index), message);
}

/** `+NAME:<fields>` for the `info` message: strings quoted, numbers bare. */
export function fields(...values: (string | number)[]): string {
  return values.map((v) => (typeof v === 'number' ? String(v) : `"${v}"`)).join(',');
}
