/**
 * Device-side TLS over ESP-AT: an IPPROTO_SEC socket connects with AT+CIPSTART "SSL", after
 * its link's SSL client settings are written from the wrap_socket options (esp-at.md §2):
 *
 *   AT+CIPSSLCCONF=<id>,<auth>,<pki_number>,<ca_number>   auth 0 none, 1 client cert, 2 verify CA, 3 both
 *   AT+CIPSSLCSNI=<id>,"<server_hostname>"                 ("" clears an earlier one)
 *   AT+CIPSSLCALPN=<id>,<n>[,"<proto>"…]                   (0 clears)
 *
 * ESP-AT takes certificates from numbered flash partitions, not from files: the paths
 * `/flash/cert/ca.pem`, `cert.pem`, `private.key` name partition 0 and `caN.pem` … partition N
 * (firmware-protocol's `atCertPaths`, the emulator's stand-in for the partitions). Verifying a
 * certificate needs the module's real time, so before the first verified connect of a boot the
 * driver makes sure SNTP has synced (esp-at#245: CA verification fails at 1970).
 */
import { atCertNumber, constants as C, tlsErrno } from '../../firmware-protocol/index.js';
import type { DeviceTlsOptions } from '../driver.js';
import { OSError, osError } from '../errors.js';
import { type AtCommand, type AtReply, infoLines } from './channel.js';

/** One link's SSL client settings, as numbers ESP-AT understands. */
export interface AtSslConfig {
  readonly auth: 0 | 1 | 2 | 3;
  readonly pki: number;
  readonly ca: number;
  readonly sni: string;
  readonly alpn: readonly string[];
}

/** An IPPROTO_SEC socket that was never wrapped: TLS without verification. */
export const AT_SSL_DEFAULT: AtSslConfig = { auth: 0, pki: 0, ca: 0, sni: '', alpn: [] };

function partition(kind: 'ca' | 'cert' | 'key', path: string): number {
  const n = atCertNumber(kind, path);
  if (n === undefined) {
    const example = { ca: '/flash/cert/ca.pem', cert: '/flash/cert/cert.pem', key: '/flash/cert/private.key' }[kind];
    throw osError(
      'EINVAL',
      `ESP-AT reads certificates from numbered partitions: ${path} names none (use ${example} or N before the extension)`,
    );
  }
  return n;
}

/**
 * wrap_socket's device-side options → AT+CIPSSLC* values. CERT_REQUIRED verifies the server
 * (auth 2, or 3 with a client certificate); CERT_NONE/OPTIONAL do not (0, or 1 with one).
 * ESP-AT has no choice of TLS version and no SSL client of a listening socket here: EOPNOTSUPP.
 */
export function atSslConfig(o: DeviceTlsOptions): AtSslConfig {
  if (o.serverSide) throw osError('EOPNOTSUPP', 'the ESP-AT driver has no TLS server sockets (AT+CIPSERVER "SSL")');
  const verify = o.certReqs === C.CERT_REQUIRED;
  const client = o.certfile !== '';
  const pki = client ? partition('cert', o.certfile) : 0;
  if (client && partition('key', o.keyfile) !== pki) {
    throw osError('EINVAL', `keyfile ${o.keyfile} and certfile ${o.certfile} are not the same ESP-AT partition`);
  }
  return {
    auth: verify ? (client ? 3 : 2) : client ? 1 : 0,
    pki,
    ca: verify ? partition('ca', o.caCerts) : 0,
    sni: o.serverHostname,
    alpn: o.alpn,
  };
}

type Run = (cmd: AtCommand) => Promise<AtReply>;

const YEAR = /(\d{4})\s*$/;

/** The module's clock is real (after an SNTP sync) when it says a year after 2020. */
async function clockIsReal(run: Run): Promise<boolean> {
  const line = infoLines(await run({ name: 'CIPSNTPTIME', form: 'query' }), '+CIPSNTPTIME')[0];
  const year = Number(YEAR.exec(line?.raw ?? '')?.[1] ?? 0);
  return year > 2020;
}

/**
 * Makes sure the module has real time: if its clock still counts from 1970, turns SNTP on
 * (AT+CIPSNTPCFG=1,0) and waits for the sync, up to `timeoutMs`; else OSError(ESECDATEERROR).
 */
export async function ensureRealTime(run: Run, timeoutMs = 10_000): Promise<void> {
  if (await clockIsReal(run)) return;
  await run({ name: 'CIPSNTPCFG', form: 'set', params: [1, 0] });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (await clockIsReal(run)) return;
  }
  throw new OSError(
    tlsErrno.ESECDATEERROR,
    `ESP-AT has no real time (SNTP did not sync within ${timeoutMs} ms): certificate dates cannot be checked`,
  );
}

/** Writes link `id`'s SSL client settings (every one, so nothing of an earlier connection lingers). */
export async function configureSslLink(run: Run, id: number, cfg: AtSslConfig): Promise<void> {
  await run({ name: 'CIPSSLCCONF', form: 'set', params: [id, cfg.auth, cfg.pki, cfg.ca] });
  await run({ name: 'CIPSSLCSNI', form: 'set', params: [id, cfg.sni] });
  await run({ name: 'CIPSSLCALPN', form: 'set', params: [id, cfg.alpn.length, ...cfg.alpn] });
}
