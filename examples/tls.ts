/**
 * TLS done by the coprocessor (WiPy-style IPPROTO_SEC): the certificate is checked on the board
 * against a CA in its file store. The emulator's virtual network has its CA pre-provisioned as
 * /flash/cert/ca.pem; on a real board, copy your CA there first (`dev.files.write`).
 *
 *   npx tsx examples/tls.ts [LOCATOR]
 */
import { OSError, openDevice } from 'netcoproc';

const dev = await openDevice(process.argv[2] ?? 'emulator:');
const { socket, ssl } = dev;
const VERIFY = { cert_reqs: ssl.CERT_REQUIRED, ca_certs: '/flash/cert/ca.pem' };

/** GET /bytes/N over a board-side TLS socket; returns the status line and body size. */
async function httpsGet(host: string, n: number): Promise<string> {
  const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
  try {
    s.settimeout(10);
    await ssl.wrap_socket(s, { ...VERIFY, server_hostname: host });
    await s.connect((await socket.getaddrinfo(host, 443))[0]![4]); // the handshake runs here
    await s.sendall(`GET /bytes/${n} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const reply = Buffer.from((await s.read()) ?? new Uint8Array());
    return `${reply.toString('latin1').split('\r\n')[0]}, ${reply.length - reply.indexOf('\r\n\r\n') - 4} body bytes`;
  } finally {
    await s.close();
  }
}

try {
  console.log('tls.test:', await httpsGet('tls.test', 1000));
  try {
    await httpsGet('unknown-ca.test', 10);
  } catch (e) {
    // TLS failures are OSErrors with WiPy's numbers (docs/tls.md).
    if (e instanceof OSError) console.log('unknown-ca.test:', e.code, `(${e.errno})`);
    else throw e;
  }
} finally {
  await dev.close();
}
