/**
 * The esp-at.md §5 transcripts (fixtures/at/*.json) fed to the HOST driver: each one is played by
 * a scripted board (helpers/at-transcript-player.ts) while a test drives the user API —
 * `openDevice(link, { protocol: 'at' })`, sockets, getaddrinfo, WLAN — and asserts what a user
 * sees. The player requires every command the driver writes to be the transcript's (up to the
 * tolerances it records; each scenario lists the ones it expects, exactly) and fails with a diff
 * otherwise. The emulator side of the same files is emulator/at/transcripts.test.ts.
 *
 * Each transcript runs on a board that accepts every mode the driver asks for (`driver`: passive
 * receive for TCP, active for UDP, AT+CIPDINFO=1) and, where it has `+IPD` data, on one without
 * passive receive (`literal`: the transcript's own `+IPD` bytes), with the device output glued,
 * one byte per chunk, and cut at odd sizes inside headers and payloads.
 */
import { describe, expect, it } from 'vitest';
import { constants as C, errno as E } from '../firmware-protocol/index.js';
import { loadTranscripts, type Transcript } from '../fixtures/at/transcripts.js';
import type { AtDriver } from '../host-lib/at/at-driver.js';
import { raises, recvAll, text } from '../host-lib/at/test-helpers.js';
import { type Device, openDevice } from '../host-lib/device.js';
import type { Socket } from '../host-lib/socket.js';
import { type PlayOptions, type Split, TranscriptPlayer, type Variant } from './helpers/at-transcript-player.js';

type Dev = Device<AtDriver>;
interface Ctx {
  readonly t: Transcript;
  /** A transcript variable at its documented example. */
  v(name: string): string;
  /** What the network peer sends (`peer: send`) / receives, in order. */
  readonly sends: string[];
  readonly receives: string[];
  readonly before: Socket | undefined;
}
interface Scenario {
  /** Why the transcript is not replayed, precisely (the test is then skipped with this title). */
  readonly skip?: string;
  /** Default: driver only (the transcript has no `+IPD` data whose shape a board could keep). */
  readonly variants?: readonly Variant[];
  readonly plan?: Omit<PlayOptions, 'variant' | 'split'>;
  /** The tolerances the player must apply — all of them, no other. */
  readonly tolerances: readonly string[];
  /** Sockets opened before the transcript starts (the board answers their commands itself). */
  readonly prologue?: (dev: Dev) => Promise<Socket>;
  run(dev: Dev, ctx: Ctx): Promise<void>;
}

const BOTH: readonly Variant[] = ['driver', 'literal'];
const SPLITS: readonly Split[] = ['glued', 'bytes', 'odd'];
const NO_PING = 'no API pings: the socket/network modules have nothing that maps to AT+PING';
const addr = (ctx: Ctx, ip: string, port: string): [string, number] => [ctx.v(ip), Number(ctx.v(port))];

/** What a user does with each transcript, and what they must see. */
const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'boot-init': {
    // Wi-Fi off at open, so active(True) must write the transcript's AT+CWMODE=1 (after its own query).
    plan: { board: { wifiMode: 0, dnsServer: '192.168.3.1' } },
    tolerances: ['start-up'],
    async run(dev, ctx) {
      const wlan = dev.network.WLAN(dev.network.STA_IF);
      expect(await wlan.isconnected()).toBe(false);
      expect(await wlan.active(true)).toBe(true);
      await wlan.connect(ctx.v('ssid'), ctx.v('password'));
      expect(await wlan.ifconfig()).toEqual([ctx.v('sta_ip'), ctx.v('netmask'), ctx.v('gateway'), '192.168.3.1']);
      expect(await wlan.isconnected()).toBe(true);
      await raises(wlan.connect(ctx.v('bad_ssid'), 'bad'), E.ETIMEDOUT); // +CWJAP:1 = timeout
      expect(await wlan.isconnected()).toBe(false);
      expect(await wlan.status()).toBe(dev.network.STAT_HANDSHAKE_TIMEOUT);
    },
  },
  'dns-ping-time': {
    plan: {
      adapt: {
        'AT+PING="{{ping_host}}"\r\n': { drop: NO_PING },
        'AT+PING="{{silent_host}}"\r\n': { drop: NO_PING },
        'AT+CIPSNTPTIME?\r\n': { drop: 'no API reads the module clock (AT+CIPSNTPTIME?)' },
      },
    },
    tolerances: ['dropped', 'start-up'],
    async run(dev, ctx) {
      const ai = await dev.socket.getaddrinfo(ctx.v('domain'), 80);
      expect(ai).toEqual([[C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP, '', [ctx.v('domain_ip'), 80]]]);
    },
  },
  errors: {
    plan: {
      adapt: {
        'AT+FAKE\r\n': {
          as: 'AT+CWLAP\r\n',
          why: 'no API writes an unknown command: its reply is what wlan.scan() gets from a build without AT+CWLAP',
        },
        'AT\r\n\r\n': {
          as: 'AT+CWQAP\r\n',
          why: 'the driver never writes a doubled terminator: the reply (OK, then a stray busy — esp-at#731) goes to wlan.disconnect()',
        },
      },
      board: { names: { 'example.com': '93.184.216.34' } },
    },
    tolerances: ['start-up', 'substitute'],
    async run(dev) {
      const wlan = dev.network.WLAN(dev.network.STA_IF);
      const err = await raises(wlan.scan(), E.EOPNOTSUPP); // ERR CODE subcategory 0x09: unsupported
      expect(err.message).toMatch(/ERR CODE:0x1090000/);
      await wlan.disconnect();
      // The stray `busy p...` after the OK answers nothing of the next command.
      expect((await dev.socket.getaddrinfo('example.com', 80))[0]![4]).toEqual(['93.184.216.34', 80]);
    },
  },
  'tcp-client': {
    variants: BOTH,
    tolerances: ['mux0-forms', 'start-up'],
    async run(dev, ctx) {
      const s = await dev.socket.socket();
      s.settimeout(2);
      await s.connect(addr(ctx, 'remote_ip', 'remote_port'));
      await s.sendall(ctx.receives[0]!);
      expect(await recvAll(s, 4)).toBe(ctx.sends[0]);
      await s.close();
    },
  },
  'passive-receive': {
    // Not `literal`: the transcript itself switches passive receive on.
    plan: {
      adapt: {
        'AT+CIPRECVLEN?\r\n': {
          drop: 'the driver never polls AT+CIPRECVLEN?: a +IPD notice is enough to read (host-lib/at/README.md, "Receive = passive mode")',
        },
      },
    },
    tolerances: ['dropped', 'mux0-forms', 'read-size', 'start-up', 'start-up-equivalent'],
    async run(dev, ctx) {
      const s = await dev.socket.socket();
      s.settimeout(2);
      await s.connect(addr(ctx, 'remote_ip', 'remote_port'));
      expect(await recvAll(s, 4)).toBe(ctx.sends[0]);
      await s.close();
    },
  },
  'udp-fixed': {
    variants: BOTH,
    plan: { free: ['local_port'] }, // not bound: the driver picks the port, as the transcript allows
    tolerances: ['start-up', 'start-up-equivalent', 'udp-mode-2', 'udp-send-to-remote'],
    async run(dev, ctx) {
      const u = await dev.socket.socket(C.AF_INET, C.SOCK_DGRAM);
      u.settimeout(2);
      await u.connect(addr(ctx, 'remote_ip', 'remote_port'));
      expect(await u.send(ctx.receives[0]!)).toBe(7);
      const [data, from] = await u.recvfrom(64);
      expect(text(data)).toBe(ctx.sends[0]);
      expect(from).toEqual(addr(ctx, 'remote_ip', 'remote_port'));
      await u.close();
    },
  },
  'udp-mode2': {
    plan: { free: ['local_port'] },
    tolerances: ['mux0-forms', 'start-up'],
    async run(dev, ctx) {
      const u = await dev.socket.socket(C.AF_INET, C.SOCK_DGRAM);
      await u.connect(addr(ctx, 'remote_ip', 'remote_port'));
      expect(await u.sendto(ctx.receives[0]!, addr(ctx, 'other_ip', 'other_port'))).toBe(4);
      await u.close();
    },
  },
  'server-accept': {
    variants: BOTH,
    plan: {
      adapt: {
        'AT+CIPSERVERMAXCONN=2\r\n': {
          drop: 'listen(backlog) is not mapped to AT+CIPSERVERMAXCONN: the module keeps its own limit',
        },
      },
      board: { acceptedPeer: ['192.168.4.2', 49469] },
    },
    tolerances: ['dropped', 'server-close-all', 'start-up'],
    async run(dev, ctx) {
      const srv = await dev.socket.socket();
      srv.settimeout(2);
      await srv.bind(['0.0.0.0', Number(ctx.v('server_port'))]);
      await srv.listen(2);
      const [c, peer] = await srv.accept();
      expect(peer).toEqual(['192.168.4.2', 49469]);
      c.settimeout(2);
      expect(await recvAll(c, 4)).toBe(ctx.sends[0]);
      await c.sendall(ctx.receives[0]!);
      await c.close();
      await raises(c.recv(1), E.EBADF);
      await srv.close();
    },
  },
  'multi-link-dinfo': {
    variants: BOTH,
    // A link of another socket is open first, so the transcript's link 0 is the driver's id 3 and
    // data for it must reach that socket only.
    async prologue(dev) {
      const other = await dev.socket.socket();
      other.settimeout(2);
      await other.connect(['10.0.0.9', 9]);
      return other;
    },
    tolerances: ['link-id', 'no-keep-alive', 'start-up'],
    async run(dev, ctx) {
      const s = await dev.socket.socket();
      s.settimeout(2);
      await s.connect(addr(ctx, 'remote_ip', 'remote_port'));
      expect(await recvAll(s, 5)).toBe(ctx.sends[0]);
      expect((await s.recv(10)).length).toBe(0); // <id>,CLOSED: EOF after the data
      const other = ctx.before!;
      other.setblocking(false);
      await raises(other.recv(10), E.EAGAIN);
      await s.close();
      await other.close();
    },
  },
  'ipd-before-payload': {
    variants: BOTH,
    tolerances: ['link-id', 'start-up', 'start-up-equivalent'],
    async run(dev, ctx) {
      const s = await dev.socket.socket();
      s.settimeout(2);
      await s.connect(addr(ctx, 'remote_ip', 'remote_port'));
      await s.sendall(ctx.receives[0]!);
      expect(await recvAll(s, 5)).toBe(ctx.sends[0]);
      await s.close();
    },
  },
  'ssl-client': {
    variants: BOTH,
    plan: {
      // The first +IPD carries exactly the bytes the transcript shows.
      values: { ipd_len: String('HTTP/1.0 200 OK'.length) },
      adapt: {
        'AT+CIPSNTPCFG=1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn"\r\n': {
          drop: 'the driver syncs the module clock only before a verified connect (auth 2/3, host-lib/at/ssl.ts); AT+CIPSSLCCONF=0 verifies nothing',
        },
      },
      board: { names: { 'example.com': '93.184.216.34' } },
    },
    tolerances: ['dropped', 'mux0-forms', 'resolved-host', 'ssl-zero-numbers', 'start-up'],
    async run(dev, ctx) {
      const s = await dev.socket.socket(C.AF_INET, C.SOCK_STREAM, C.IPPROTO_SEC);
      s.settimeout(2);
      await dev.ssl.wrap_socket(s, { cert_reqs: dev.ssl.CERT_NONE, server_hostname: ctx.v('sni') });
      await s.connect([ctx.v('remote_host'), Number(ctx.v('remote_port'))]);
      await s.sendall('GET / HTTP/1.0\r\n\r\n');
      expect(await recvAll(s, 15)).toBe('HTTP/1.0 200 OK');
      await s.close();
    },
  },
  passthrough: {
    skip: 'the driver has no passthrough: it keeps the module in AT+CIPMUX=1 (passthrough needs MUX=0 and AT+CIPMODE=1) and no API maps to AT+CIPMODE, AT+CIPSEND without arguments or +++',
    tolerances: [],
    run: async () => {},
  },
};

function context(t: Transcript, before: Socket | undefined): Ctx {
  const peer = (kind: string) =>
    [...t.setup, ...t.steps].flatMap((s) => ('peer' in s && s.peer === kind ? [s.data ?? ''] : []));
  const v = (name: string) => {
    const found = t.vars[name];
    if (!found) throw new Error(`${t.name} has no variable ${name}`);
    return found.example;
  };
  return { t, v, sends: peer('send'), receives: peer('receive'), before };
}

/** Plays `t` to the driver while `s` drives the API; returns the player for further checks. */
async function play(t: Transcript, s: Scenario, variant: Variant, split: Split): Promise<TranscriptPlayer> {
  const player = new TranscriptPlayer(t, { variant, split, ...s.plan });
  const dev = await player.guard(openDevice(player, { protocol: 'at', probeTimeoutMs: 1000 }));
  try {
    const before = s.prologue ? await player.guard(s.prologue(dev)) : undefined;
    player.begin();
    await player.guard(s.run(dev, context(t, before)));
    await player.done();
    await player.guard(dev.close());
    await player.done(); // nothing the driver wrote while closing was out of place
  } catch (err) {
    player.destroy(); // the driver fails everything at once instead of waiting for answers
    await dev.close();
    throw err;
  }
  return player;
}

const transcripts = loadTranscripts();

describe('esp-at.md §5 transcripts, played to the host driver', () => {
  for (const t of transcripts.values()) {
    const s = SCENARIOS[t.name];
    if (!s) {
      it(`${t.name}: has a scenario`, () => expect.fail(`no scenario for fixtures/at/${t.name}.json`));
      continue;
    }
    if (s.skip) {
      it.skip(`${t.name}: ${s.skip}`, () => {});
      continue;
    }
    for (const variant of s.variants ?? ['driver']) {
      for (const split of SPLITS) {
        it(`${t.name} (${variant}, ${split})`, async () => {
          const player = await play(t, s, variant, split);
          expect([...player.tolerances].sort()).toEqual([...s.tolerances].sort());
        });
      }
    }
  }

  it('a command that differs from the transcript fails with a readable diff', async () => {
    const t = transcripts.get('tcp-client')!;
    const steps = t.steps.map((step) =>
      'host' in step && step.host === 'AT+CIPSEND=4\r\n' ? { host: 'AT+CIPSEND=5\r\n' } : step,
    );
    await expect(play({ ...t, steps }, SCENARIOS['tcp-client']!, 'driver', 'glued')).rejects.toThrow(
      /the transcript expects\n {2}"AT\+CIPSEND=5\\r\\n"\nbut the driver wrote\n {2}"AT\+CIPSEND=4,4\\r\\n"\n\(length 4 instead of 5/,
    );
  });

  it('a transcript step the driver never writes fails as a stall', async () => {
    const t = transcripts.get('dns-ping-time')!;
    await expect(play(t, { ...SCENARIOS['dns-ping-time']!, plan: {} }, 'driver', 'glued')).rejects.toThrow(
      /stalled: the transcript expects the driver to write "AT\+PING=\\"192\.168\.1\.1\\"\\r\\n"/,
    );
  });
});
