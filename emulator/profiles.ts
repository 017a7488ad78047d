/**
 * Device profiles: the limits and habits of the board an emulator plays. One row each.
 * `wipy` is the WiPy/CC3200 (SimpleLink: 8 sockets, TLS on the network processor);
 * `esp32` is MicroPython on ESP32 (lwIP: 10 sockets, newlib errno numbers on the wire).
 * `esp-at` is Espressif's ESP-AT firmware: 5 links (ids 0–4), lwIP's 5760-byte TCP window.
 */
import type { ErrnoBase } from '../firmware-protocol/index.js';

export interface Profile {
  readonly name: 'wipy' | 'esp32' | 'esp-at';
  /** Size of the socket table; one more socket() fails with ENFILE. */
  readonly maxSockets: number;
  /** errno numbering the device reports on the wire. */
  readonly errnoBase: ErrnoBase;
  /** Largest unescaped frame the device accepts. */
  readonly maxFrame: number;
  /** Bytes of SEND payload the host may have outstanding per socket. */
  readonly txWindow: number;
  /** Stream bytes a socket buffers from its peer before it stops reading (then the peer waits). */
  readonly rxBuffer: number;
  /** Datagrams queued per UDP socket; later ones are dropped (lwIP keeps 4). */
  readonly udpQueue: number;
  /** Has IPPROTO_SEC (TLS done by the device). */
  readonly tlsOnDevice: boolean;
  /** Concurrent device-side TLS sessions; one more fails with ESECTOOMANYSSLOPENED (460). */
  readonly maxTlsSessions: number;
  /** A TLS handshake that takes longer fails with ESECHANDSHAKETIMEDOUT (462), ms. */
  readonly tlsHandshakeTimeoutMs: number;
  /**
   * A TCP connect whose peer never answers fails with ETIMEDOUT after this long, ms (the stack
   * giving up its SYN retries; docs/profiles.md). On ESP-AT, a `<timeout>` in AT+CIPSTART wins.
   */
  readonly connectTimeoutMs: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  wipy: {
    name: 'wipy',
    maxSockets: 8,
    errnoBase: 'linux',
    maxFrame: 4096,
    txWindow: 65536,
    rxBuffer: 32768,
    udpQueue: 4,
    tlsOnDevice: true,
    maxTlsSessions: 2,
    tlsHandshakeTimeoutMs: 10_000,
    connectTimeoutMs: 10_000, // SimpleLink: a blocking sl_Connect gives up after about 10 s
  },
  esp32: {
    name: 'esp32',
    maxSockets: 10,
    errnoBase: 'newlib',
    maxFrame: 4096,
    txWindow: 65536,
    rxBuffer: 32768,
    udpQueue: 4,
    tlsOnDevice: false,
    maxTlsSessions: 0,
    tlsHandshakeTimeoutMs: 10_000,
    connectTimeoutMs: 20_000, // lwIP's SYN retries with ESP-IDF defaults: of the order of 20 s
  },
  'esp-at': {
    name: 'esp-at',
    maxSockets: 5, // AT_SOCKET_MAX_CONN_NUM: the links; a listening server socket is extra
    errnoBase: 'newlib',
    maxFrame: 4096,
    txWindow: 8192, // AT+CIPSEND's limit per command
    rxBuffer: 5760, // CONFIG_LWIP_TCP_WND_DEFAULT: the passive-mode window
    udpQueue: 4,
    tlsOnDevice: true, // AT+CIPSTART="SSL" runs mbedTLS on the module
    maxTlsSessions: 2,
    tlsHandshakeTimeoutMs: 10_000, // ESP-AT: 10 s per handshake packet
    connectTimeoutMs: 20_000, // CIPSTART without <timeout>: lwIP-governed, as esp32
  },
};

export type ProfileName = keyof typeof PROFILES;

/** Looks up a profile by name with a clear error listing the valid names. */
export function getProfile(name: string): Profile {
  const p = PROFILES[name as ProfileName];
  if (!p) throw new Error(`unknown profile '${name}' (expected one of: ${Object.keys(PROFILES).join(', ')})`);
  return p;
}
