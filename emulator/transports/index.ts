/**
 * Transports attach a host to the emulated UART (a Node Duplex: host bytes are written into it,
 * device bytes are read from it): raw TCP, pty, and optional baud pacing.
 *
 * @example
 * ```ts
 * const line = paceDuplex(uart, 115200);
 * const tcp = await listenTcp(line, { port: 0 });
 * console.log(`listening ${tcp.url}`);
 * ```
 */
export { type AttachEvents, DeviceOutput, type HostSink } from './device-output.js';
export { bytesPerSecond, createPacer, paceDuplex } from './pace.js';
export { openPty, type PtyOptions, type PtyTransport } from './pty.js';
export { listenRfc2217, type Rfc2217Options, type Rfc2217Transport } from './rfc2217.js';
export {
  chipEnabled,
  DEFAULT_SETTINGS,
  type FlowControl,
  type PortChange,
  type PortSettings,
  Rfc2217Session,
  type SessionEvent,
} from './rfc2217-session.js';
export { BUSY_NOTE, listenTcp, type TcpOptions, type TcpTransport } from './tcp.js';
export { bytePattern, type Collector, collect, createLoopbackUart, firstMismatch, readBytes } from './testing.js';
