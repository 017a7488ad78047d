/** host-lib: the user's library. */
export { Device, errnoModule, type OpenOptions, openDevice } from './device.js';
export type { AddrInfo, Driver, DriverSocket, SockAddr } from './driver.js';
export { toDuplex } from './duplex.js';
export { OSError } from './errors.js';
export { type FileInfo, Files } from './files.js';
export { inet_ntop, inet_pton } from './inet.js';
export { Poll } from './select.js';
export { Socket } from './socket.js';
export { SOCKET_CONSTANTS } from './socket-module.js';
export {
  listSerialPorts,
  type ModemLines,
  openTransport,
  Rfc2217Link,
  type SerialPortInfo,
  setModemLines,
} from './transports.js';
