/** The echo service (RFC 862) of echo.test, TCP and UDP port 7. */
import type { TcpService, UdpService } from './types.js';

/**
 * TCP echo: every byte comes back in order. `pipe` gives backpressure (the device's writes stall
 * while it is not reading the echo) and answers the device's FIN with ours after the last byte.
 */
export const tcpEcho: TcpService = (conn) => {
  // A device reset destroys the stream; there is nothing left to clean up.
  conn.on('error', () => {});
  conn.pipe(conn);
};

/** UDP echo: each datagram goes back to the port it came from. */
export const udpEcho: UdpService = (data, reply) => reply(data);
