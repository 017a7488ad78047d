/**
 * The ESP-AT firmware versions the emulator can play, and every way they differ on the wire —
 * the one table of version differences (esp-at.md §0). Handlers ask `traits.<fact>`; nothing
 * else in emulator/at/ compares version strings.
 *
 * Facts common to all three (so not columns here): `+IPD`/`+CIPDOMAIN` addresses are quoted
 * (v2.x+), `ERR CODE:` is gated by AT+SYSLOG (v2.1+), only `busy p...` exists (no `busy s...`).
 */
import type { AtMessageOf, CommandName } from '../../firmware-protocol/at/index.js';

/** A firmware version as given to `--at-version`. */
export type AtVersion = '2.2' | '3.2' | '4.1';

/** Every version, oldest first (for `--at-version` validation and test loops). */
export const AT_VERSION_NAMES: readonly AtVersion[] = ['2.2', '3.2', '4.1'];

/** Default when none is asked for: the newest. */
export const DEFAULT_AT_VERSION: AtVersion = '4.1';

/** What one version does differently. */
export interface VersionTraits {
  readonly version: AtVersion;
  /** AT+GMR's four lines, as real ESP32 (WROOM-32) builds of that release print them. */
  readonly gmr: readonly AtMessageOf<'version'>[];
  /** Table commands this release does not have: they answer like unknown ones (ERR CODE 0x01090000). */
  readonly missing: ReadonlySet<CommandName>;
  /** Largest AT+CIPSEND / AT+CIPSENDEX length: 2048 up to v2.2, 8192 from v2.4. */
  readonly maxSend: number;
  /** AT+CIPSTART and AT+CIPDOMAIN take a trailing `<timeout>` (ms): v4.1.0.0+. */
  readonly connectTimeoutParam: boolean;
}

/** `compile` is `<hash>|<date>`: the line reads `compile time(<hash>):<date>`. */
function gmr(at: string, sdk: string, compile: string, bin: string): AtMessageOf<'version'>[] {
  const [hash, when] = compile.split('|') as [string, string];
  return [
    { type: 'version', key: 'AT version', value: at },
    { type: 'version', key: 'SDK version', value: sdk },
    { type: 'version', key: `compile time(${hash})`, value: when },
    { type: 'version', key: 'Bin version', value: bin },
  ];
}

const TRAITS: { readonly [V in AtVersion]: VersionTraits } = {
  // Captured from real boards (lwesp comments, device logs); CIPSTATE arrived in v2.3/2.4 docs.
  '2.2': {
    version: '2.2',
    gmr: gmr(
      '2.2.0.0(c6fa6bf - ESP32 - Jul  2 2021 06:44:05)',
      'v4.2.2-76-gefa6eca',
      '3a696ba|Jul  2 2021 11:54:43',
      '2.2.0(WROOM-32)',
    ),
    missing: new Set(['CIPSTATE', 'CIPRECVTYPE']),
    maxSend: 2048,
    connectTimeoutParam: false,
  },
  // The example in the v3.2.0.0 Basic_AT_Commands docs.
  '3.2': {
    version: '3.2',
    gmr: gmr(
      '3.2.0.0(s-ec2dec2 - ESP32 - Jul 28 2023 07:05:28)',
      'v5.0.2-376-g24b9d38a24-dirty',
      '6118fc22|Jul 28 2023 09:47:28',
      'v3.2.0.0(WROOM-32)',
    ),
    missing: new Set(['CIPRECVTYPE']),
    maxSend: 8192,
    connectTimeoutParam: false,
  },
  // v4.1.1.0 (2025-07); CIPRECVMODE was renamed CIPRECVTYPE in v3.3.0.0.
  '4.1': {
    version: '4.1',
    gmr: gmr(
      '4.1.1.0(ba4dd0e - ESP32 - Jul 31 2025 08:37:48)',
      'v5.4.1-643-g8ad0d3d8f2f-dirty',
      '7c092f9|Jul 31 2025 11:02:39',
      'v4.1.1.0(WROOM-32)',
    ),
    missing: new Set(['CIPRECVMODE']),
    maxSend: 8192,
    connectTimeoutParam: true,
  },
};

/**
 * The traits of a version, with a clear error naming the valid ones.
 *
 * @example versionTraits('2.2').maxSend  // 2048
 */
export function versionTraits(version: string): VersionTraits {
  if (!Object.hasOwn(TRAITS, version)) {
    throw new Error(`unknown ESP-AT version '${version}' (expected one of: ${AT_VERSION_NAMES.join(', ')})`);
  }
  return TRAITS[version as AtVersion];
}

/** Whether `name` exists in this release. */
export function hasCommand(traits: VersionTraits, name: CommandName): boolean {
  return !traits.missing.has(name);
}
