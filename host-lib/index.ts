/** host-lib: the user's library. */
export { AtDriver, type AtDriverOptions, WLAN_STATUS } from './at/index.js';
export { Device, type DriverFor, errnoModule, type OpenOptions, openDevice } from './device.js';
export type {
  AddrInfo,
  Driver,
  DriverEvent,
  DriverSocket,
  NetworkModule,
  ScanResult,
  SockAddr,
  WlanInterface,
} from './driver.js';
export { toDuplex } from './duplex.js';
export { OSError } from './errors.js';
export { Files } from './files.js';
export { inet_ntop, inet_pton } from './inet.js';
export * from './node/index.js';
export { Poll } from './select.js';
export { Socket } from './socket.js';
export { SOCKET_CONSTANTS } from './socket-module.js';
export { SSL_CONSTANTS, SSLContext, SSLSocket, type SslModule, type WrapOptions } from './ssl.js';
export {
  listSerialPorts,
  type ModemLines,
  openTransport,
  Rfc2217Link,
  type SerialPortInfo,
  setModemLines,
} from './transports.js';
