/** The emulator's offline virtual network; see README.md in this folder. */
export { type DuplexPairOptions, duplexPair } from './duplex-pair.js';
export {
  type AccessPoint,
  defaultHostsPath,
  defaultHostsTable,
  type HostsTable,
  HostsTableError,
  type HostsTableInput,
  loadHostsFile,
  parseHostsTable,
  TCP_SERVICE_KINDS,
  type TcpServiceKind,
  UDP_SERVICE_KINDS,
  type UdpServiceKind,
  type VirtualHost,
  WIFI_AUTH_MODES,
} from './hosts.js';
export { type HttpParseEvent, type HttpRequest, HttpRequestParser } from './http-parser.js';
export { NetInterface, type TcpAcceptor, type TcpListener } from './interface.js';
export { isIPv4, parseCidr } from './ipv4.js';
export { joinNamedNetwork, type NamedNetwork, namedNetworkPath } from './named.js';
export { abortedError, NetError, type NetErrorCode, toNetError } from './net-error.js';
export { tcpEcho, udpEcho } from './services/echo.js';
export { httpService } from './services/http.js';
export {
  httpsService,
  type NetworkPki,
  PKI_DEADLINE_MS,
  type PkiSource,
  pkiOnDemand,
  type TlsIdentity,
} from './services/https.js';
export type { TcpConnectionInfo, TcpService, UdpService, UdpSource } from './services/types.js';
export { MAX_DATAGRAM, type UdpMessageHandler, type VirtualUdp } from './udp.js';
export { VirtualNetwork, type VirtualNetworkOptions } from './virtual-network.js';
