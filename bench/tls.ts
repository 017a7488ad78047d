/**
 * TLS benchmark scenarios (docs/tls.md), in-process against the emulator's tls.test:
 * handshake time (connect + full handshake, CERT_REQUIRED with the fixture CA) and bulk
 * download (GET /bytes/N inside the session), for device-side TLS (IPPROTO_SEC: the board runs
 * TLS, the host sees plaintext) and host-side TLS (node:tls on the host over a plain socket).
 */
import type { Device, SSLSocket } from '../host-lib/index.js';
import { openDevice } from '../index.js';

export type TlsMode = 'device' | 'host';

export interface TlsFigures {
  mode: TlsMode;
  /** Connect + handshake, ms: median and 90th percentile over `samples`. */
  handshake: { samples: number; p50ms: number; p90ms: number };
  /** GET /bytes/N: plaintext body bytes per second, timed to the last byte. */
  download: { bytes: number; seconds: number; bytesPerSecond: number };
}

interface Stream {
  write(data: string): Promise<unknown>;
  recv(n: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

const CA = '/flash/cert/ca.pem';

/** A verified TLS session to tls.test:443, the TLS done where `mode` says. */
async function open(dev: Device, mode: TlsMode): Promise<Stream> {
  const { socket, ssl } = dev;
  const addr = (await socket.getaddrinfo('tls.test', 443))[0]![4];
  const verify = { cert_reqs: ssl.CERT_REQUIRED, ca_certs: CA, server_hostname: 'tls.test' };
  if (mode === 'device') {
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
    await ssl.wrap_socket(s, verify);
    await s.connect(addr);
    return s;
  }
  const s = await socket.socket();
  await s.connect(addr);
  return (await ssl.wrap_socket(s, verify)) as SSLSocket;
}

async function handshakes(dev: Device, mode: TlsMode, n: number): Promise<TlsFigures['handshake']> {
  for (let i = 0; i < 3; i++) await (await open(dev, mode)).close(); // warm up
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const s = await open(dev, mode);
    ms.push(performance.now() - t0);
    await s.close();
  }
  ms.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round((ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0) * 100) / 100;
  return { samples: n, p50ms: at(0.5), p90ms: at(0.9) };
}

async function download(dev: Device, mode: TlsMode, bytes: number): Promise<TlsFigures['download']> {
  const s = await open(dev, mode);
  const t0 = performance.now();
  await s.write(`GET /bytes/${bytes} HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n`);
  let got = 0;
  for (;;) {
    const c = await s.recv(65536);
    if (!c || c.length === 0) break;
    got += c.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await s.close();
  if (got < bytes) throw new Error(`TLS download (${mode}) got ${got} of ${bytes} bytes`);
  return { bytes, seconds, bytesPerSecond: bytes / seconds };
}

/** Both modes over one in-process SLIP emulator (wipy profile: TLS on the device). */
export async function measureTls(quick: boolean): Promise<TlsFigures[]> {
  const dev = await openDevice('emulator:');
  try {
    const out: TlsFigures[] = [];
    for (const mode of ['device', 'host'] as const) {
      out.push({
        mode,
        handshake: await handshakes(dev, mode, quick ? 10 : 50),
        download: await download(dev, mode, quick ? 4 << 20 : 32 << 20),
      });
    }
    return out;
  } finally {
    await dev.close();
  }
}
