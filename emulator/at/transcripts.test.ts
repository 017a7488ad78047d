/**
 * The esp-at.md §5 transcripts (fixtures/at/*.json) replayed against the ESP-AT personality,
 * byte for byte: the host steps go into the UART, the device bytes must come back exactly, the
 * network peers (real loopback sockets) see exactly what the board sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { asDocumented, loadTranscripts, type Transcript } from '../../fixtures/at/transcripts.js';
import { createEmulator, type Emulator } from '../emulator.js';
import { defaultHostsTable, parseCidr } from '../network/index.js';
import { DeviceTap, type Peer, replay, TcpPeer, UdpPeer } from './test-support.js';
import type { AtVersion } from './versions.js';

const transcripts = loadTranscripts();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function boot(t: Transcript, version: AtVersion): Emulator {
  const hosts = defaultHostsTable();
  if (!t.board.joinedAtBoot) hosts.wifi.autoJoin = null;
  const emu = createEmulator({
    protocol: 'at',
    atVersion: version,
    network: { hosts },
    atTiming: { joinMs: 5, pingTimeoutMs: 100 },
  });
  cleanups.push(() => emu.close());
  return emu;
}

async function peersFor(t: Transcript): Promise<{ main?: Peer; other?: Peer }> {
  const peers: { main?: Peer; other?: Peer } = {};
  if (t.peer === 'tcp-server' || t.peer === 'tcp-client') peers.main = await TcpPeer.listen();
  if (t.peer === 'udp') [peers.main, peers.other] = [await UdpPeer.bind(), await UdpPeer.bind()];
  for (const p of Object.values(peers)) cleanups.push(() => p.close());
  return peers;
}

/** What the variables are on this emulator; the rest are read from the device's output. */
function values(emu: Emulator, peers: { main?: Peer; other?: Peer }, version: AtVersion): Record<string, string> {
  const hosts = emu.network.hosts;
  return {
    ...{ remote_ip: '127.0.0.1', remote_port: String(peers.main?.port ?? 0) },
    ...{ other_ip: '127.0.0.1', other_port: String(peers.other?.port ?? 0), local_port: '1112' },
    ...{ ssid: 'netcoproc', password: 'netcoproc-pass', bad_ssid: 'x', server_port: '80' },
    ...{ sta_ip: emu.nic.ip, gateway: hosts.gateway, netmask: parseCidr(hosts.subnet).netmask },
    ...{ domain: 'http.test', domain_ip: '10.77.0.80', ping_host: 'echo.test', silent_host: 'blackhole.test' },
    recv_mode_cmd: version === '4.1' ? 'CIPRECVTYPE' : 'CIPRECVMODE',
  };
}

async function run(t: Transcript, version: AtVersion): Promise<Record<string, string>> {
  const emu = boot(t, version);
  const peers = await peersFor(t);
  const tap = new DeviceTap(emu.uart);
  if (t.board.joinedAtBoot) await tap.expectText('\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n');
  const forwardPort = () => emu.forwards.at(-1)?.forwardPort;
  return replay(t, { uart: emu.uart, tap, values: values(emu, peers, version), peers, forwardPort });
}

const replayed = [...transcripts.values()].filter((t) => t.emulator === undefined);
/** Transcripts whose bytes differ between releases run on every release. */
const VERSIONED = new Set(['boot-init', 'passive-receive', 'errors', 'tcp-client']);

describe('esp-at.md §5 transcripts, replayed against the emulator', () => {
  for (const t of replayed) {
    const versions: AtVersion[] = VERSIONED.has(t.name) ? ['2.2', '3.2', '4.1'] : ['4.1'];
    for (const version of versions) {
      it(`${t.name} (v${version})`, async () => {
        const got = await run(t, version);
        if (got.cwjap_code !== undefined) expect(got.cwjap_code).toBe('3'); // unknown SSID → "AP not found"
      });
    }
  }

  it('every transcript is valid and every documented example fills its template', () => {
    expect(transcripts.size).toBeGreaterThanOrEqual(12);
    const tcp = transcripts.get('tcp-client')!;
    expect(asDocumented(tcp, (tcp.steps[0] as { host: string }).host)).toBe(
      'AT+CIPSTART="TCP","192.168.3.102",8080\r\n',
    );
    for (const t of transcripts.values()) {
      for (const s of [...t.setup, ...t.steps]) if ('device' in s) asDocumented(t, s.device);
    }
  });

  it('a wrong device byte fails the replay with a readable message', async () => {
    const t = transcripts.get('errors')!;
    const broken: Transcript = { ...t, steps: [{ host: 'AT\r\n' }, { device: '\r\nOK\r\n\r\n' }] };
    await expect(
      (async () => {
        const emu = boot(t, '4.1');
        const tap = new DeviceTap(emu.uart);
        await tap.expectText('\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n');
        await replay(broken, { uart: emu.uart, tap, values: {}, peers: {}, deadlineMs: 200 });
      })(),
    ).rejects.toThrow(/device did not send "\\r\\nOK\\r\\n\\r\\n"; it sent "\\r\\nOK\\r\\n"/);
  });
});
