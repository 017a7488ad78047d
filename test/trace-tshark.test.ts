/**
 * Traces read by a real Wireshark: the emulator (`netcoproc emulate --trace`, a child process)
 * and the host (`openDevice(url, { trace })`) each record an HTTP download through the board;
 * Debian's tshark dissects the virtual network's HTTP, DNS and TCP (checksums and sequence
 * numbers checked by tshark itself), and with the shipped Lua dissector the SLIP ops and AT lines.
 * `netcoproc trace` prints the same conversation without Wireshark.
 *
 * tshark is installed by .ci/run: in CI a missing tshark fails these tests; elsewhere they are
 * skipped with a note.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../index.js';
import { CLI, spawnEmulator } from './helpers/spawn-emulator.js';

const run = promisify(execFile);
const TSHARK = '/usr/bin/tshark';
const LUA = fileURLToPath(new URL('../firmware-protocol/wireshark/netcoproc.lua', import.meta.url));
const present = existsSync(TSHARK);
if (!present && !process.env.CI)
  console.warn('test/trace-tshark: tshark not installed (apt-get install tshark); skipped');

/** tshark's fields output, one array per packet. */
async function tshark(file: string, args: string[]): Promise<string[][]> {
  const { stdout } = await run(TSHARK, ['-r', file, '-X', `lua_script:${LUA}`, ...args], { timeout: 30_000 });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

const fields = (names: string[]): string[] => ['-T', 'fields', ...names.flatMap((n) => ['-e', n])];

/** A device-side TLS request (IPPROTO_SEC) to tls.test: its handshake must dissect as TLS. */
async function tlsRequest(dev: Device): Promise<void> {
  const { socket, ssl } = dev;
  const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SEC);
  s.settimeout(10);
  await ssl.wrap_socket(s, {
    cert_reqs: ssl.CERT_REQUIRED,
    ca_certs: '/flash/cert/ca.pem',
    server_hostname: 'tls.test',
  });
  await s.connect((await socket.getaddrinfo('tls.test', 443))[0]?.[4] as [string, number]);
  await s.sendall(new TextEncoder().encode('GET /bytes/10 HTTP/1.1\r\nHost: tls.test\r\n\r\n'));
  expect((await s.recv(4096)).length).toBeGreaterThan(0);
  await s.close();
}

/** The emulator and the host both tracing one HTTP download through the board. */
async function download(dir: string, protocol: 'slip' | 'at'): Promise<{ emu: string; host: string; body: number }> {
  const emuTrace = join(dir, `emulator-${protocol}.pcapng`);
  const hostTrace = join(dir, `host-${protocol}.pcapng`);
  const emu = await spawnEmulator(['--protocol', protocol, '--trace', emuTrace]);
  let body = 0;
  try {
    const dev = await openDevice(emu.url as string, { protocol, trace: hostTrace });
    const { socket } = dev;
    const addr = (await socket.getaddrinfo('http.test', 80))[0]?.[4] as [string, number];
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(10);
    await s.connect(addr);
    await s.sendall(
      new TextEncoder().encode('GET /bytes/3000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n'),
    );
    for (;;) {
      const got = await s.recv(4096);
      if (got.length === 0) break;
      body += got.length;
    }
    await s.close();
    if (protocol === 'slip') await tlsRequest(dev as Device);
    await dev.close();
  } finally {
    expect(await emu.stop()).toBe(0);
  }
  return { emu: emuTrace, host: hostTrace, body };
}

describe.skipIf(!present && !process.env.CI)('traces read by tshark', { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(() => {
    if (!present) throw new Error(`${TSHARK} is missing: .ci/run installs it (apt-get install -y tshark)`);
    dir = mkdtempSync(join(tmpdir(), 'netcoproc-trace-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('SLIP', () => {
    let t: { emu: string; host: string; body: number };
    beforeAll(async () => {
      t = await download(dir, 'slip');
    }, 60_000);

    it('the emulator trace dissects as HTTP, DNS, TLS and TCP, with good checksums and no TCP anomaly', async () => {
      expect(t.body).toBeGreaterThan(3000);
      const http = await tshark(t.emu, [
        '-Y',
        'http',
        ...fields(['http.request.method', 'http.request.uri', 'http.response.code']),
      ]);
      expect(http).toContainEqual(['GET', '/bytes/3000', '']);
      expect(http).toContainEqual(['', '', '200']);
      const dns = await tshark(t.emu, ['-Y', 'dns.flags.response == 1', ...fields(['dns.qry.name', 'dns.a'])]);
      expect(dns).toContainEqual(['http.test', '10.77.0.80']);
      const sni = await tshark(t.emu, [
        '-Y',
        'tls.handshake.type == 1',
        ...fields(['tls.handshake.extensions_server_name']),
      ]);
      expect(sni).toEqual([['tls.test']]);
      const checks = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
      const good = await tshark(t.emu, [...checks, '-Y', 'tcp.checksum.status == 1', ...fields(['frame.number'])]);
      expect(good.length).toBeGreaterThanOrEqual(8);
      const bad =
        'ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || tcp.analysis.flags';
      expect(await tshark(t.emu, [...checks, '-Y', bad, ...fields(['frame.number', '_ws.col.Info'])])).toEqual([]);
    });

    it('the shipped dissector names the SLIP ops in both traces, in order', async () => {
      for (const file of [t.emu, t.host]) {
        const ops = (await tshark(file, ['-Y', 'netcoproc.opname', ...fields(['netcoproc.opname'])])).map((r) => r[0]);
        const order = ['HELLO', 'GETADDRINFO', 'SOCKET', 'CONNECT', 'CONNECTED', 'SEND', 'DATA', 'EOF', 'CLOSE'];
        const firsts = order.map((op) => ops.indexOf(op));
        expect(firsts.every((i) => i >= 0)).toBe(true);
        expect([...firsts].sort((a, b) => a - b)).toEqual(firsts);
      }
      const info = await tshark(t.host, ['-Y', 'netcoproc.sock', ...fields(['_ws.col.Info'])]);
      expect(info.some((r) => /^→ CONNECT request #\d+ sock 0 \(8 bytes\)$/.test(r[0] ?? ''))).toBe(true);
      expect(info.some((r) => /^← CONNECTED event sock 0 \(3 bytes\)$/.test(r[0] ?? ''))).toBe(true);
    });

    it('netcoproc trace prints the conversation with op names, sockets and lengths', async () => {
      const { stdout } = await run(process.execPath, [CLI, 'trace', t.host], { timeout: 20_000 });
      expect(stdout).toMatch(/host→dev {2}#1 HELLO version 1/);
      expect(stdout).toMatch(/host→dev {2}#\d+ CONNECT sock 0 addr 10\.77\.0\.80:80/);
      expect(stdout).toMatch(/dev→host {2}DATA sock 0 data \d+ bytes/);
      expect(stdout).toMatch(/host→dev {2}#\d+ CLOSE sock 0/);
    });
  });

  describe('ESP-AT', () => {
    let t: { emu: string; host: string; body: number };
    beforeAll(async () => {
      t = await download(dir, 'at');
    }, 60_000);

    it('both traces show the AT lines through the dissector, and the emulator trace the HTTP exchange', async () => {
      for (const file of [t.emu, t.host]) {
        const lines = (await tshark(file, ['-Y', 'netcoproc.line', ...fields(['netcoproc.line'])])).map((r) => r[0]);
        expect(lines).toContain('OK');
        expect(lines.some((l) => l?.startsWith('AT+CIPSTART='))).toBe(true);
        expect(lines.some((l) => l?.startsWith('AT+CIPSEND='))).toBe(true);
        expect(lines.some((l) => l?.startsWith('+IPD,'))).toBe(true);
        expect(lines).toContain('>');
      }
      const http = await tshark(t.emu, ['-Y', 'http.response', ...fields(['http.response.code'])]);
      expect(http).toEqual([['200']]);
      const { stdout } = await run(process.execPath, [CLI, 'trace', t.emu], { timeout: 20_000 });
      expect(stdout).toMatch(/host→dev {2}AT\+CIPSTART=/);
      expect(stdout).toMatch(/host→dev {2}data \d+ bytes/);
    });
  });
});
