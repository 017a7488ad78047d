/**
 * Link management (esp-at.md §2 TCP/IP core): AT+CIPMUX, CIPSTART, CIPSTARTEX, CIPCLOSE,
 * CIPSTATE, CIPSTATUS, CIPMODE, CIPDINFO, CIPSTO.
 *
 *   AT+CIPSTART=0,"TCP","echo.test",7  →  0,CONNECT\r\n\r\nOK\r\n
 *   refused / unreachable              →  \r\nERROR\r\n0,CLOSED\r\n   (rt-esp-at-nal #10, logic analyser)
 *   AT+CIPCLOSE=0                      →  0,CLOSED\r\n\r\nOK\r\n
 */
import { type AtMessage, type CommandName, errCode } from '../../firmware-protocol/at/index.js';
import { constants as C } from '../../firmware-protocol/index.js';
import {
  type AtCommand,
  type AtDevice,
  AtFail,
  badParam,
  type FormHandlers,
  fail,
  fields,
  type Outcome,
  Superseded,
} from './context.js';
import type { Link } from './link-table.js';
import { LINK_COUNT } from './settings.js';
import { linkTlsConfig } from './ssl-config.js';
import { requireIp } from './wifi.js';

/** `0,CONNECT` — or `+LINK_CONN:0,0,"TCP",0,"10.77.0.7",7,49153` with AT+SYSMSG bit1. */
export function connectMessage(dev: AtDevice, link: Link): AtMessage {
  if ((dev.settings.live.sysmsg & 2) === 0) return { type: 'connect', link: dev.label(link) };
  return {
    type: 'link-conn',
    status: 0,
    link: link.id,
    protocol: link.type,
    server: link.server,
    remote: { ip: link.remote[0], port: link.remote[1] },
    localPort: link.localPort,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `AT+CIPSTART=…,<timeout>` exists from v4.1.0.0; older firmware counts it as one parameter too many. */
function checkTimeoutParam(dev: AtDevice, cmd: AtCommand): void {
  if (dev.traits.connectTimeoutParam || cmd.args.timeout === undefined) return;
  const given = cmd.params.length;
  throw new AtFail(errCode('paramCount', ((given - 1) << 8) | given), `AT+${cmd.name}: <timeout> needs v4.1+`);
}

async function resolveHost(dev: AtDevice, host: string): Promise<string> {
  try {
    const [ip] = await dev.guard(dev.network.resolve(host));
    if (ip) return ip;
  } catch (err) {
    if (err instanceof Superseded) throw err;
  }
  throw fail('execFailed', `DNS Fail: cannot resolve ${host}`);
}

/** TCP, or SSL: the same link with TLS on the board (the handshake is part of the connect). */
async function startTcp(dev: AtDevice, id: number, cmd: AtCommand, timeoutMs: number, ssl: boolean): Promise<Link> {
  const [host, port] = [String(cmd.args.remote_host), Number(cmd.args.remote_port)];
  const ip = await resolveHost(dev, host); // a DNS failure is a plain ERROR: no link existed yet
  const sock = dev.table.socket(C.AF_INET, C.SOCK_STREAM, ssl ? C.IPPROTO_SEC : C.IPPROTO_TCP);
  const link = dev.links.add({
    ...{ id, sock, type: ssl ? 'SSL' : 'TCP', state: 'connecting', remote: [ip, port] },
    ...{ localPort: dev.nextLocalPort(), server: false, udpMode: 0 },
  });
  try {
    if (ssl) dev.table.tlsWrap(sock, await dev.guard(linkTlsConfig(dev, id, host)));
    await dev.guard(dev.table.connect(sock, link.remote));
    await dev.waitConnected(sock, timeoutMs);
    return link;
  } catch (err) {
    if (err instanceof Superseded) throw err;
    dev.closeLink(link, false);
    const closed: AtMessage = { type: 'closed', link: dev.label(id) };
    throw new AtFail(errCode('execFailed'), `connect to ${host}:${port} failed: ${describe(err)}`, [], [closed]);
  }
}

async function startUdp(dev: AtDevice, id: number, cmd: AtCommand): Promise<Link> {
  const a = cmd.args;
  if (a.mode !== undefined && a.local_port === undefined) throw badParam(4, 'UDP <mode> needs <local_port>');
  const ip = await resolveHost(dev, String(a.remote_host));
  const sock = dev.table.socket(C.AF_INET, C.SOCK_DGRAM, C.IPPROTO_UDP);
  try {
    const [, localPort] = await dev.guard(dev.table.bind(sock, ['0.0.0.0', Number(a.local_port ?? 0)]));
    const udpMode = Number(a.mode ?? 0) as 0 | 1 | 2;
    const remote: [string, number] = [ip, Number(a.remote_port)];
    return dev.links.add({ id, sock, type: 'UDP', state: 'connecting', remote, localPort, server: false, udpMode });
  } catch (err) {
    if (err instanceof Superseded) throw err;
    dev.table.close(sock);
    throw fail('execFailed', `UDP bind failed: ${describe(err)}`);
  }
}

/** CIPSTART's `<keep_alive>` is AT+CIPTCPOPT's too: the last writer of either wins (esp-at docs). */
function keepAliveFromStart(dev: AtDevice, id: number, seconds: number): void {
  const tcpOpt = structuredClone(dev.settings.live.tcpOpt);
  tcpOpt[id] = { ...tcpOpt[id]!, keepAlive: seconds };
  dev.settings.store({ tcpOpt });
}

/** CIPSTART / CIPSTARTEX once the link id is known. */
async function start(dev: AtDevice, cmd: AtCommand, id: number): Promise<Outcome> {
  requireIp(dev);
  checkTimeoutParam(dev, cmd);
  const type = String(cmd.args.type);
  if (type.endsWith('v6')) throw fail('execFailed', 'IPv6 is not emulated');
  if (!dev.links.isFree(id)) {
    throw new AtFail(errCode('execFailed'), `link ${id} is already connected`, [{ type: 'already-connected' }]);
  }
  const timeout = Number(cmd.args.timeout ?? 0) || dev.timing.connectTimeoutMs;
  const link = type === 'UDP' ? await startUdp(dev, id, cmd) : await startTcp(dev, id, cmd, timeout, type === 'SSL');
  if (type !== 'UDP' && cmd.args.keep_alive !== undefined) keepAliveFromStart(dev, id, Number(cmd.args.keep_alive));
  link.state = 'open';
  dev.say(connectMessage(dev, link), { type: 'ok' });
  dev.pump(link); // data that arrived with the handshake follows the OK
  return 'done';
}

function closeOne(dev: AtDevice, id: number): void {
  const link = dev.links.get(id);
  if (!link) throw fail('execFailed', `link ${id} is not open`);
  dev.closeLink(link, true);
}

/** AT+CIPSTATUS `<stat>`: 2 got IP, 3 link(s) up, 4 all links closed again, 5 no Wi-Fi. */
function status(dev: AtDevice): number {
  if (!dev.wifi.joined) return 5;
  if (dev.links.size > 0) return 3;
  return dev.links.everUsed ? 4 : 2;
}

function linkLines(dev: AtDevice, prefix: string): void {
  for (const l of dev.links.all()) {
    if (l.state !== 'open') continue;
    dev.info(prefix, fields(l.id, l.type, l.remote[0], l.remote[1], l.localPort, l.server ? 1 : 0));
  }
}

function setMux(dev: AtDevice, mode: 0 | 1): void {
  if (mode === dev.settings.live.mux) return;
  if (dev.links.size > 0) throw fail('execFailed', 'AT+CIPMUX can change only with no link open');
  if (mode === 1 && dev.settings.live.cipmode === 1) throw fail('execFailed', 'AT+CIPMUX=1 needs AT+CIPMODE=0');
  if (mode === 0 && dev.server) throw fail('execFailed', 'AT+CIPMUX=0 needs the server deleted (AT+CIPSERVER=0)');
  dev.setMux(mode);
}

/** Link handlers. */
export const LINKS: { readonly [N in CommandName]?: FormHandlers } = {
  CIPMUX: {
    query: (dev) => dev.info('+CIPMUX', String(dev.settings.live.mux)),
    set: (dev, cmd) => setMux(dev, cmd.args.mode === 1 ? 1 : 0),
  },
  CIPSTART: {
    test: () => undefined,
    set: (dev, cmd) => start(dev, cmd, dev.settings.live.mux === 1 ? Number(cmd.args.link_id) : 0),
  },
  CIPSTARTEX: {
    set: (dev, cmd) => {
      const id = dev.settings.live.mux === 1 ? dev.links.lowestFree() : 0;
      if (id < 0) throw fail('execFailed', `all ${LINK_COUNT} links are in use`);
      return start(dev, cmd, id);
    },
  },
  CIPCLOSE: {
    test: () => undefined,
    execute: (dev) => {
      if (dev.settings.live.mux === 1) throw fail('execFailed', 'AT+CIPCLOSE needs a link id under AT+CIPMUX=1');
      closeOne(dev, 0);
    },
    set: (dev, cmd) => {
      const id = Number(cmd.args.link_id);
      if (dev.settings.live.mux === 0) throw badParam(0, 'AT+CIPCLOSE=<id> is for AT+CIPMUX=1; use AT+CIPCLOSE');
      if (id < LINK_COUNT) return closeOne(dev, id);
      for (const link of dev.links.all()) dev.closeLink(link, true);
    },
  },
  CIPSTATE: { query: (dev) => linkLines(dev, '+CIPSTATE') },
  CIPSTATUS: {
    execute: (dev) => {
      dev.info('STATUS', String(status(dev)));
      linkLines(dev, '+CIPSTATUS');
    },
  },
  CIPMODE: {
    query: (dev) => dev.info('+CIPMODE', String(dev.settings.live.cipmode)),
    set: (dev, cmd) => {
      const mode = cmd.args.mode === 1 ? 1 : 0;
      if (mode === 1 && dev.settings.live.mux === 1) throw fail('execFailed', 'passthrough needs AT+CIPMUX=0');
      dev.settings.live.cipmode = mode;
    },
  },
  CIPDINFO: {
    query: (dev) => dev.info('+CIPDINFO', dev.settings.live.dinfo ? 'true' : 'false'),
    set: (dev, cmd) => {
      dev.settings.live.dinfo = cmd.args.mode === 1;
    },
  },
  CIPSTO: {
    query: (dev) => dev.info('+CIPSTO', String(dev.settings.live.serverTimeout)),
    set: (dev, cmd) => {
      dev.settings.live.serverTimeout = Number(cmd.args.time);
    },
  },
};
