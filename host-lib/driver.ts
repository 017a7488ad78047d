/**
 * The narrow interface between the MicroPython-style modules and a wire protocol (like
 * MicroPython's NIC vtable in extmod/modnetwork.h). Every operation is NON-blocking: it
 * completes now, or throws OSError(EAGAIN) / reports 'inprogress'; blocking and timeouts are
 * built once, above, from these plus `wait` on readiness. The SLIP and AT drivers implement it.
 */
export type SockAddr = [string, number];

export interface AddrInfo {
  family: number;
  type: number;
  proto: number;
  canonname: string;
  addr: SockAddr;
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
}

export interface Driver {
  readonly profile: string;
  readonly maxSockets: number;
  socket(family: number, type: number, proto: number): Promise<DriverSocket>;
  getaddrinfo(host: string, port: number, family: number, type: number, proto: number, flags: number): Promise<AddrInfo[]>;
  close(): Promise<void>;
}
