/**
 * Benchmark scenarios, each run against an open Device: one-way bulk TCP each way, a full-duplex
 * echo, and small-request round trips. They return plain numbers; run.ts does the reporting.
 */
import { createServer, type Server } from 'node:net';
import type { Device } from '../host-lib/index.js';
import type { SlipDriver } from '../host-lib/slip/slip-driver.js';

export interface Bulk {
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
}

function bulk(bytes: number, ms: number): Bulk {
  return { bytes, seconds: ms / 1000, bytesPerSecond: bytes / (ms / 1000) };
}

const chunk = Buffer.alloc(65536, 0x5a);

/** A loopback TCP sink that counts bytes: the device reaches the machine's 127.0.0.1. */
export async function startSink(): Promise<{ port: number; received(): number; server: Server }> {
  let total = 0;
  const server = createServer((c) => c.on('data', (d: Buffer) => (total += d.length)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, received: () => total, server };
}

/** Host → device → network: sendall `bytes` to the sink; timed until the sink has them all. */
export async function upload(dev: Device, sinkPort: number, received: () => number, bytes: number): Promise<Bulk> {
  const { socket } = dev;
  const s = await socket.socket();
  await s.connect(['127.0.0.1', sinkPort]);
  const start = received();
  const t0 = performance.now();
  for (let sent = 0; sent < bytes; sent += chunk.length)
    await s.sendall(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
  while (received() - start < bytes) await new Promise((r) => setTimeout(r, 1));
  const ms = performance.now() - t0;
  await s.close();
  return bulk(bytes, ms);
}

/** Network → device → host: GET /bytes/N from http.test, timed to the last body byte. */
export async function download(dev: Device, bytes: number): Promise<Bulk> {
  const { socket } = dev;
  const s = await socket.socket();
  await s.connect(['http.test', 80]);
  const t0 = performance.now();
  await s.sendall(`GET /bytes/${bytes} HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n`);
  let got = 0;
  for (;;) {
    const c = await s.recv(65536);
    if (c.length === 0) break;
    got += c.length;
  }
  const ms = performance.now() - t0;
  await s.close();
  if (got < bytes) throw new Error(`download got ${got} of ${bytes} bytes`);
  return bulk(bytes, ms);
}

/** Full duplex through echo.test: one task sends while another receives; bytes per second each way. */
export async function echo(dev: Device, bytes: number): Promise<Bulk> {
  const { socket } = dev;
  const s = await socket.socket();
  await s.connect(['echo.test', 7]);
  const t0 = performance.now();
  const writer = (async () => {
    for (let sent = 0; sent < bytes; sent += chunk.length)
      await s.sendall(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
  })();
  let got = 0;
  while (got < bytes) {
    const c = await s.recv(65536);
    if (c.length === 0) break;
    got += c.length;
  }
  await writer;
  const ms = performance.now() - t0;
  await s.close();
  return bulk(bytes, ms);
}

export interface Latency {
  samples: number;
  p50us: number;
  p90us: number;
  p99us: number;
}

function percentiles(us: number[]): Latency {
  us.sort((a, b) => a - b);
  const at = (q: number): number =>
    Math.round((us[Math.min(us.length - 1, Math.floor(q * us.length))] as number) * 10) / 10;
  return { samples: us.length, p50us: at(0.5), p90us: at(0.9), p99us: at(0.99) };
}

/** Round trip of one small RPC request (PING with 16 bytes) to the coprocessor and back. */
export async function rpcRoundTrip(dev: Device, n: number): Promise<Latency> {
  const payload = new Uint8Array(16);
  for (let i = 0; i < 50; i++) await (dev.driver as unknown as SlipDriver).call('PING', { payload });
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await (dev.driver as unknown as SlipDriver).call('PING', { payload });
    us.push((performance.now() - t0) * 1000);
  }
  return percentiles(us);
}

/** Round trip of 16 bytes through echo.test: send, then recv them back. */
export async function echoRoundTrip(dev: Device, n: number): Promise<Latency> {
  const { socket } = dev;
  const s = await socket.socket();
  await s.connect(['echo.test', 7]);
  const msg = new Uint8Array(16);
  const us: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    await s.send(msg);
    let got = 0;
    while (got < msg.length) got += (await s.recv(64)).length;
    if (i >= 20) us.push((performance.now() - t0) * 1000);
  }
  await s.close();
  return percentiles(us);
}
