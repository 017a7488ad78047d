import type { DeviceErrno } from './device-error.js';

/** Callbacks from the socket table to the personality in front of it (SLIP or AT). */
export interface SocketNotify {
  /** Data, a datagram, EOF or an error became available on `id`: pull with read/readDgram. */
  onReadable(id: number): void;
  /** A connect that reported 'inprogress' finished (error undefined = connected; TLS sockets: handshake done). */
  onConnected(id: number, error?: DeviceErrno): void;
  /** A listening socket has `pending` connections queued. */
  onAcceptable(id: number, pending: number): void;
}

export type { SockAddr } from '../../firmware-protocol/index.js';

/** What a stream read yields: bytes, or the end of the stream (FIN), or the error that ended it. */
export type StreamRead = { data: Uint8Array } | { eof: true } | { error: DeviceErrno } | undefined;
