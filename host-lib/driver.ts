/**
 * The narrow interface between the MicroPython-style modules and a wire protocol (like
 * MicroPython's NIC vtable in extmod/modnetwork.h). Every operation is NON-blocking: it
 * completes now, or throws OSError(EAGAIN) / reports 'inprogress'; blocking and timeouts are
 * built once, above, from these plus `wait` on readiness. The SLIP and AT drivers implement it.
 * What only some protocols can do is an optional capability (`files`, `setLineSpeed`, `network`,
 * a socket's `secure`): the layers above ask for it, never for a driver's type.
 */

import type { AddrInfo, SockAddr } from '../firmware-protocol/index.js';

export type { AddrInfo, SockAddr } from '../firmware-protocol/index.js';

/**
 * Device-side TLS of an IPPROTO_SEC socket, as ssl.wrap_socket gives it (checked there). File
 * names are paths in the coprocessor's file store; '' = none.
 */
export interface DeviceTlsOptions {
  serverSide: boolean;
  /** 0 CERT_NONE, 1 CERT_OPTIONAL, 2 CERT_REQUIRED. */
  certReqs: number;
  /** WiPy method: 1 TLSv1, 2 TLSv1.1, 3 TLSv1.2. */
  sslVersion: number;
  keyfile: string;
  certfile: string;
  caCerts: string;
  /** SNI, and the name the certificate must carry under CERT_REQUIRED; '' = none. */
  serverHostname: string;
  alpn: readonly string[];
}

export interface DriverSocket {
  readonly id: number;
  readonly type: number;
  /** Starts a connect: 'done' (UDP, or instant) or 'inprogress' (poll for POLLOUT). */
  connect(addr: SockAddr): Promise<'done' | 'inprogress'>;
  /** After 'inprogress': 'done', still 'inprogress', or throws the connect's error (once). */
  connectProgress(): 'done' | 'inprogress';
  bind(addr: SockAddr): Promise<SockAddr>;
  listen(backlog: number): Promise<number>;
  /** Takes one queued connection; EAGAIN if none. */
  accept(): Promise<[DriverSocket, SockAddr]>;
  /** Queues up to data.length bytes for sending; returns how many were taken, EAGAIN if none. */
  send(data: Uint8Array): number;
  sendto(data: Uint8Array, addr: SockAddr): Promise<number>;
  /**
   * Bytes `send` took that the device has not yet confirmed taking (its buffer may still lose
   * them); throws the error that lost any. 0 = everything handed over (Duplex `end()` waits for it).
   */
  unsent?(): number;
  /** Received bytes (up to n; empty = EOF); EAGAIN if none yet. `peek` leaves them queued. */
  recv(n: number, peek?: boolean): Uint8Array;
  /** One datagram (truncated to n) and its source; EAGAIN if none. */
  recvfrom(n: number, peek?: boolean): [Uint8Array, SockAddr];
  setsockopt(level: number, option: number, value: Uint8Array): Promise<void>;
  /** Current readiness as poll bits (POLLIN/POLLOUT/POLLERR/POLLHUP/POLLNVAL), from local state. */
  revents(): number;
  /** Resolves when revents() & mask may have changed, or at `deadline` (ms epoch; Infinity = never). */
  wait(deadline: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
  /** Half-close (SLIP SHUTDOWN, SPEC rev 1.2): how 1 = SHUT_WR sends FIN after what was sent. */
  shutdown?(how: number): Promise<void>;
  /** IPPROTO_SEC sockets: TLS options for the device, before connect/listen (drivers with device-side TLS). */
  secure?(opts: DeviceTlsOptions): Promise<void>;
}

export interface Driver {
  readonly profile: string;
  readonly maxSockets: number;
  socket(family: number, type: number, proto: number): Promise<DriverSocket>;
  getaddrinfo(
    host: string,
    port: number,
    family: number,
    type: number,
    proto: number,
    flags: number,
  ): Promise<AddrInfo[]>;
  close(): Promise<void>;
  // ---- optional capabilities ----
  /**
   * Events: 'reset' (coprocessor restarted), 'hang' (it stopped answering: calls fail at once
   * until it is found again), 'ready' (set up again after either), 'error', 'bad-frame' (SLIP),
   * 'stray' (AT: unexpected line).
   */
  on?(event: DriverEvent, listener: (arg: unknown) => void): unknown;
  /** MicroPython's `network` module (WLAN), for drivers that can manage the Wi-Fi. */
  readonly network?: NetworkModule;
  /** Malformed frames / unusable lines seen so far. */
  readonly badFrames?: number;
  /** The coprocessor's file store (`/flash`, certificates), for drivers whose protocol has one. */
  readonly files?: FileStore;
  /**
   * Tells the coprocessor to switch its UART to `baudRate` (it answers at the old speed); the
   * caller then moves the local end of the line. For drivers whose protocol can say so.
   */
  setLineSpeed?(baudRate: number): Promise<void>;
}

/** One entry of a file-store listing: a file with its size, or a directory. */
export interface FileInfo {
  readonly name: string;
  readonly size: number;
  readonly dir: boolean;
}

/** `dev.files`: the coprocessor's file store (`/flash`), as host-lib/files.ts implements it over SLIP. */
export interface FileStore {
  /** Replaces the file with `data` (bytes or str, UTF-8); resolves with the byte count. */
  write(path: string, data: Uint8Array | string): Promise<number>;
  read(path: string): Promise<Uint8Array>;
  list(dir?: string): Promise<FileInfo[]>;
  remove(path: string): Promise<void>;
}

export type DriverEvent = 'reset' | 'hang' | 'ready' | 'error' | 'bad-frame' | 'stray';

/** One scan entry, MicroPython order: (ssid, bssid, channel, RSSI, security, hidden). */
export type ScanResult = [Uint8Array, Uint8Array, number, number, number, boolean];

/** MicroPython's `network.WLAN` object; calls that talk to the coprocessor return Promises. */
export interface WlanInterface {
  active(flag?: boolean): Promise<boolean>;
  connect(ssid: string, key?: string | null): Promise<void>;
  disconnect(): Promise<void>;
  isconnected(): Promise<boolean>;
  status(): Promise<number>;
  /** [ip, netmask, gateway, dns]; with an argument, sets a static configuration. */
  ifconfig(config?: readonly [string, string, string, string]): Promise<[string, string, string, string]>;
  scan(): Promise<ScanResult[]>;
  config(param: string): Promise<unknown>;
}

/** MicroPython's `network` module: `network.WLAN(network.STA_IF)` plus the STAT_* values. */
export interface NetworkModule {
  readonly STA_IF: number;
  readonly AP_IF: number;
  readonly STAT_IDLE: number;
  readonly STAT_CONNECTING: number;
  readonly STAT_GOT_IP: number;
  readonly STAT_NO_AP_FOUND: number;
  readonly STAT_WRONG_PASSWORD: number;
  readonly STAT_ASSOC_FAIL: number;
  readonly STAT_HANDSHAKE_TIMEOUT: number;
  WLAN(iface?: number): WlanInterface;
}
