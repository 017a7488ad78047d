/**
 * The `socket` module bound to one device: constants, socket(), getaddrinfo(), inet_pton/ntop.
 *
 * ```ts
 * const { socket } = dev;
 * const ai = await socket.getaddrinfo('echo.test', 7);
 * const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
 * await s.connect(ai[0][4]);
 * ```
 */
import { constants as C } from '../firmware-protocol/index.js';
import { toInt } from './args.js';
import type { Driver, SockAddr } from './driver.js';
import { badArg, OSError } from './errors.js';
import { inet_ntop, inet_pton } from './inet.js';
import { Socket } from './socket.js';

export type AddrInfoTuple = [number, number, number, string, SockAddr];

export const SOCKET_CONSTANTS = {
  AF_INET: C.AF_INET,
  AF_INET6: C.AF_INET6,
  SOCK_STREAM: C.SOCK_STREAM,
  SOCK_DGRAM: C.SOCK_DGRAM,
  SOCK_RAW: C.SOCK_RAW,
  IPPROTO_IP: C.IPPROTO_IP,
  IPPROTO_TCP: C.IPPROTO_TCP,
  IPPROTO_UDP: C.IPPROTO_UDP,
  IPPROTO_SEC: C.IPPROTO_SEC,
  SOL_SOCKET: C.SOL_SOCKET,
  SO_REUSEADDR: C.SO_REUSEADDR,
  SO_KEEPALIVE: C.SO_KEEPALIVE,
  SO_BROADCAST: C.SO_BROADCAST,
  TCP_NODELAY: C.TCP_NODELAY,
  IP_ADD_MEMBERSHIP: C.IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP: C.IP_DROP_MEMBERSHIP,
  MSG_PEEK: C.MSG_PEEK,
  MSG_DONTWAIT: C.MSG_DONTWAIT,
} as const;

export type SocketModule = typeof SOCKET_CONSTANTS & {
  socket(af?: number, type?: number, proto?: number): Promise<Socket>;
  getaddrinfo(
    host: string,
    port: number,
    af?: number,
    type?: number,
    proto?: number,
    flags?: number,
  ): Promise<AddrInfoTuple[]>;
  inet_pton: typeof inet_pton;
  inet_ntop: typeof inet_ntop;
  socket_class: typeof Socket;
  OSError: typeof OSError;
};

export function createSocketModule(driver: Driver): SocketModule {
  const getaddrinfo = async (
    host: string,
    port: number,
    af = 0,
    type = 0,
    proto = 0,
    flags = 0,
  ): Promise<AddrInfoTuple[]> => {
    if (typeof host !== 'string') throw badArg('TypeError', 'host', 'must be a str');
    const entries = await driver.getaddrinfo(host, toInt(port, 'port'), af, type, proto, flags);
    return entries.map((e) => [e.family, e.type, e.proto, e.canonname, e.addr]);
  };
  const resolve = async (host: string, port: number): Promise<SockAddr> => {
    const [first] = await getaddrinfo(host, port);
    if (!first) throw new OSError(-2, `name not known: ${host}`);
    return first[4];
  };
  return {
    ...SOCKET_CONSTANTS,
    async socket(af = C.AF_INET, type = C.SOCK_STREAM, proto = 0): Promise<Socket> {
      toInt(af, 'af');
      toInt(type, 'type');
      toInt(proto, 'proto');
      const ds = await driver.socket(af, type, proto);
      return new Socket(ds, af, type, proto, resolve);
    },
    getaddrinfo,
    inet_pton,
    inet_ntop,
    socket_class: Socket,
    OSError,
  };
}
