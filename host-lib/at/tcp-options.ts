/**
 * Socket options over ESP-AT: AT+CIPTCPOPT=<id>,<so_linger>,<tcp_nodelay>,<so_sndtimeo>[,<keep_alive>]
 * holds them per link id on the module (ESP-AT v2+; `<keep_alive>` only in the later
 * versions' docs, so it is written only once a socket has asked for keep-alive). The module
 * keeps a link id's values across connections, so the host records what it last wrote per id
 * (LinkEntry.tcpOpt) and what each socket asked for (AtSocket.tcpOpt), and writes when they differ.
 */
import { constants as C } from '../../firmware-protocol/index.js';

export interface TcpOpt {
  /** SO_LINGER seconds; -1 off. */
  readonly linger: number;
  /** TCP_NODELAY 0|1. */
  readonly nodelay: number;
  /** SO_SNDTIMEO ms; 0 none. */
  readonly sndtimeo: number;
  /** Keep-alive idle seconds (TCP_KEEPIDLE; INTVL 1, CNT 3 on the module); 0 off. */
  readonly keepAlive: number;
}

/** The module's defaults (esp-at docs, AT+CIPTCPOPT). */
export const TCP_OPT_DEFAULT: TcpOpt = { linger: -1, nodelay: 0, sndtimeo: 0, keepAlive: 0 };

/** SO_KEEPALIVE=1 without an idle time: lwIP's default TCP_KEEPIDLE, also ESP-AT's maximum. */
export const KEEPALIVE_DEFAULT_S = 7200;

/** A setsockopt value as an int: MicroPython packs ints in 4 bytes (big-endian here), else any byte set. */
export function optionInt(value: Uint8Array): number {
  if (value.length === 4) return new DataView(value.buffer, value.byteOffset, 4).getInt32(0);
  return value.some((b) => b !== 0) ? 1 : 0;
}

/**
 * The options after setsockopt(level, option, value); null if the option is not one of
 * AT+CIPTCPOPT's. SO_KEEPALIVE's value, when above 1, is the idle time in seconds (how
 * dev.net's setKeepAlive passes its initialDelay; nonzero still means "on" to every other stack).
 */
export function withOption(cur: TcpOpt, level: number, option: number, value: Uint8Array): TcpOpt | null {
  const v = optionInt(value);
  if (level === C.IPPROTO_TCP && option === C.TCP_NODELAY) return { ...cur, nodelay: v ? 1 : 0 };
  if (level === C.SOL_SOCKET && option === C.SO_KEEPALIVE) {
    const idle = v === 0 ? 0 : v === 1 ? KEEPALIVE_DEFAULT_S : Math.min(Math.max(v, 1), KEEPALIVE_DEFAULT_S);
    return { ...cur, keepAlive: idle };
  }
  return null;
}

export function sameTcpOpt(a: TcpOpt, b: TcpOpt): boolean {
  return a.linger === b.linger && a.nodelay === b.nodelay && a.sndtimeo === b.sndtimeo && a.keepAlive === b.keepAlive;
}

/** AT+CIPTCPOPT's parameters; `<keep_alive>` only when it changes or is on (older firmware has 3 values). */
export function tcpOptParams(id: number, want: TcpOpt, module: TcpOpt): number[] {
  const params = [id, want.linger, want.nodelay, want.sndtimeo];
  if (want.keepAlive !== 0 || module.keepAlive !== 0) params.push(want.keepAlive);
  return params;
}
