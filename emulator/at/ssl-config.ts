/**
 * SSL client configuration (esp-at.md §2): AT+CIPSSLCCONF, CIPSSLCSNI, CIPSSLCALPN. The values
 * are stored per link (id 5 = all, AT+CIPMUX=0 addresses link 0) and reported by the queries;
 * AT+CIPSTART="SSL" on a link uses that link's values ({@link linkTlsConfig}).
 *
 *   AT+CIPSSLCSNI="tls.test"  →  \r\nOK\r\n
 *   AT+CIPSSLCSNI?            →  +CIPSSLCSNI:0,"tls.test"\r\n\r\nOK\r\n
 */
import type { CommandName } from '../../firmware-protocol/at/index.js';
import { atCertPaths, constants as C, parseIp } from '../../firmware-protocol/index.js';
import { DeviceError } from '../core/device-error.js';
import { type TlsConfig, tlsConfig } from '../core/tls.js';
import { type AtCommand, type AtDevice, badParam, type FormHandlers, fields } from './context.js';
import { LINK_COUNT, type SslClientConfig } from './settings.js';

/** The link ids a set command addresses. */
function targets(dev: AtDevice, cmd: AtCommand): number[] {
  if (dev.settings.live.mux === 0) return [0];
  const id = Number(cmd.args.link_id);
  return id === LINK_COUNT ? Array.from({ length: LINK_COUNT }, (_, i) => i) : [id];
}

/** Applies `change` to each addressed link's config and stores the result (NVS while SYSSTORE=1). */
function update(dev: AtDevice, cmd: AtCommand, change: (c: SslClientConfig) => void): void {
  const sslc = structuredClone(dev.settings.live.sslc);
  for (const id of targets(dev, cmd)) change(sslc[id]!);
  dev.settings.store({ sslc });
}

/** One query line per link (MUX=1) or for link 0 (MUX=0). */
function query(dev: AtDevice, prefix: string, line: (c: SslClientConfig) => (string | number)[]): void {
  const ids = dev.settings.live.mux === 1 ? [...dev.settings.live.sslc.keys()] : [0];
  for (const id of ids) dev.info(prefix, fields(id, ...line(dev.settings.live.sslc[id]!)));
}

/** SSL client configuration handlers. */
export const SSL_CONFIG: { readonly [N in CommandName]?: FormHandlers } = {
  CIPSSLCCONF: {
    query: (dev) => query(dev, '+CIPSSLCCONF', (c) => [c.authMode, c.pkiNumber, c.caNumber]),
    set: (dev, cmd) =>
      update(dev, cmd, (c) => {
        c.authMode = Number(cmd.args.auth_mode);
        c.pkiNumber = Number(cmd.args.pki_number ?? 0);
        c.caNumber = Number(cmd.args.ca_number ?? 0);
      }),
  },
  CIPSSLCSNI: {
    query: (dev) => query(dev, '+CIPSSLCSNI', (c) => [c.sni]),
    set: (dev, cmd) =>
      update(dev, cmd, (c) => {
        c.sni = String(cmd.args.sni);
      }),
  },
  CIPSSLCALPN: {
    query: (dev) => query(dev, '+CIPSSLCALPN', (c) => [c.alpn.length, ...c.alpn]),
    set: (dev, cmd) => {
      const names = [1, 2, 3, 4, 5].map((n) => cmd.args[`alpn${n}`]).filter((a) => a !== undefined);
      const first = dev.settings.live.mux === 1 ? 1 : 0;
      if (names.length !== cmd.args.counts)
        throw badParam(first, `<counts> is ${cmd.args.counts} but ${names.length} names follow`);
      update(dev, cmd, (c) => {
        c.alpn = names.map(String);
      });
    },
  },
};

/**
 * The TLS configuration of an SSL link from its AT+CIPSSLC* values. Certificates come from the
 * file store, ESP-AT's partitions numbered as firmware-protocol's `atCertPaths` says
 * (`<ca_number>` 0 = /flash/cert/ca.pem, `<pki_number>` 0 = cert.pem + private.key). Auth 2/3
 * verify the server (by CIPSSLCSNI, else the CIPSTART host name), which needs real time: before
 * an SNTP sync the board's clock says 1970 and every certificate is "not yet valid" (esp-at#245).
 */
export async function linkTlsConfig(dev: AtDevice, id: number, host: string): Promise<TlsConfig> {
  const c = dev.settings.live.sslc[dev.settings.live.mux === 1 ? id : 0]!;
  const verify = c.authMode === 2 || c.authMode === 3;
  const clientCert = c.authMode === 1 || c.authMode === 3;
  if (verify && !dev.settings.live.sntp.synced) {
    throw new DeviceError(
      'ESECDATEERROR',
      'no real time yet (AT+CIPSNTPCFG=1 first): certificate dates cannot be checked',
    );
  }
  const [certfile, keyfile] = clientCert ? atCertPaths('pki', c.pkiNumber) : [];
  return tlsConfig(dev.files, {
    certReqs: verify ? C.CERT_REQUIRED : C.CERT_NONE,
    caCerts: verify ? atCertPaths('ca', c.caNumber)[0] : undefined,
    certfile,
    keyfile,
    serverHostname: c.sni || (parseIp(host) ? undefined : host),
    alpn: c.alpn,
  });
}
