/** The options of the ESP-AT personality (personality.ts) and its default timing. */
import type { TlsFileSource } from '../core/tls.js';
import type { AtQuirks } from '../faults/scenario.js';
import type { HostsTable, NetInterface } from '../network/index.js';
import type { Profile } from '../profiles.js';
import type { Random } from '../random.js';
import type { AtTiming } from './context.js';
import type { UartConfig } from './settings.js';
import type { AtVersion } from './versions.js';

/** Options of {@link AtPersonality}. */
export interface AtPersonalityOptions {
  profile: Profile;
  /** This board's attachment to the (possibly shared) virtual network. */
  network: NetInterface;
  /** That network's hosts table (access points, gateway, subnet). */
  hosts: HostsTable;
  random: Random;
  /** Firmware release to play (default '4.1'). */
  version?: AtVersion;
  timing?: Partial<AtTiming>;
  /** AT+UART_CUR/DEF changed the line settings (after the OK went out at the old ones). */
  onUartConfig?: (uart: UartConfig) => void;
  /** AT+CIPSERVER's listener became reachable from the machine at 127.0.0.1:forwardPort. */
  onForward?: (f: { ip: string; port: number; forwardPort: number }) => void;
  /** Every ERROR the board answers, with the reason, for logs. */
  onCommandError?: (message: string) => void;
  /** The board's file store: SSL links take their certificates from it (ESP-AT's partitions). */
  files?: TlsFileSource;
  /** Real-firmware misbehaviours to play (quirks.ts); default none. */
  quirks?: AtQuirks;
}

export const DEFAULT_TIMING: AtTiming = { joinMs: 50, connectTimeoutMs: 10_000, pingTimeoutMs: 1_000, sntpSyncMs: 50 };
