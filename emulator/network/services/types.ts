/** The interface between the virtual network and the services its virtual hosts run. */
import type { Duplex } from 'node:stream';

/** Who a virtual TCP connection reached. */
export interface TcpConnectionInfo {
  /** Host name from the hosts table, e.g. 'echo.test'. */
  readonly hostName: string;
  readonly ip: string;
  readonly port: number;
}

/**
 * Serves one accepted virtual TCP connection. `conn` is the service's end of the connection:
 * reading gives what the device sent, writing sends to the device. The service must listen for
 * 'error' (a device RST arrives as `NetError('ECONNRESET')`) and should `end()` when done.
 *
 * @example const discard: TcpService = (conn) => { conn.on('error', () => {}); conn.resume(); conn.end(); };
 */
export type TcpService = (conn: Duplex, info: TcpConnectionInfo) => void;

/** Source of a datagram as seen by a service. */
export interface UdpSource {
  readonly ip: string;
  readonly port: number;
}

/**
 * Handles one datagram sent to a virtual UDP service; `reply` sends a datagram back to its source.
 *
 * @example const echo: UdpService = (data, reply) => reply(data);
 */
export type UdpService = (data: Uint8Array, reply: (data: Uint8Array) => void, from: UdpSource) => void;
