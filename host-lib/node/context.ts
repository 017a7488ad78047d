/**
 * What the Node-native layer needs from one device: its MicroPython socket module (the public
 * socket API the Node sockets are built on), its driver (capabilities), and the board's own
 * address (for `localAddress`), asked once and remembered.

 */
import { CAP } from '../../firmware-protocol/index.js';
import type { Driver } from '../driver.js';
import type { SocketModule } from '../socket-module.js';

export interface NodeContext {
  readonly socket: SocketModule;
  readonly driver: Driver;
  /** True when `end()` can send a FIN while reading goes on (SLIP with SPEC rev 1.2 SHUTDOWN). */
  canHalfClose(): boolean;
  /** The board's station IPv4 address, or undefined where the driver cannot tell. */
  localIp(): Promise<string | undefined>;
}

/** The context of one device; the board's address is asked at the first connection. */
export function createNodeContext(socket: SocketModule, driver: Driver): NodeContext {
  let ip: Promise<string | undefined> | undefined;
  return {
    socket,
    driver,
    canHalfClose: () => {
      try {
        const session = (driver as { session?: { capabilities: number } }).session;
        return session !== undefined && (session.capabilities & CAP.shutdown) !== 0;
      } catch {
        return false; // no session yet (a SLIP driver between hellos)
      }
    },
    localIp: () => {
      ip ??= askIp(driver);
      return ip;
    },
  };
}

async function askIp(driver: Driver): Promise<string | undefined> {
  try {
    const wlan = driver.network?.WLAN();
    if (!wlan) return undefined;
    const [addr] = await wlan.ifconfig();
    return addr && addr !== '0.0.0.0' ? addr : undefined;
  } catch {
    return undefined;
  }
}
