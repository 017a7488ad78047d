/**
 * Socket, poll and TLS constants. The wire uses these numbers (MicroPython's modlwip values,
 * plus WiPy's IPPROTO_SEC); a device translates them to its native stack's numbers.
 */

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** WiPy: a socket created with this protocol does TLS on the coprocessor. */
export const IPPROTO_SEC = 100;

export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 4;
export const SO_KEEPALIVE = 8;
export const SO_BROADCAST = 0x20;
export const TCP_NODELAY = 1;
export const IP_ADD_MEMBERSHIP = 0x400;
export const IP_DROP_MEMBERSHIP = 0x401;

export const MSG_PEEK = 1;
export const MSG_DONTWAIT = 2;

/** select.poll event bits (MicroPython, all ports). */
export const POLLIN = 1;
export const POLLOUT = 4;
export const POLLERR = 8;
export const POLLHUP = 16;
/** Returned for a closed socket; not exported by MicroPython's select module. */
export const POLLNVAL = 32;

/** ssl module values (WiPy/MicroPython). */
export const CERT_NONE = 0;
export const CERT_OPTIONAL = 1;
export const CERT_REQUIRED = 2;
export const PROTOCOL_SSLv3 = 0;
export const PROTOCOL_TLSv1 = 1;
export const PROTOCOL_TLSv1_1 = 2;
export const PROTOCOL_TLSv1_2 = 3;

/** The poll bits as one object, for code that maps over them. */
export const POLL_BITS = { POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL } as const;
