/**
 * Receiving (esp-at.md §2 Passive receive, §3 limits): how a link's data reaches the host, and
 * AT+CIPRECVTYPE / CIPRECVMODE / CIPRECVLEN / CIPRECVDATA.
 *
 * Active mode pushes `\r\n+IPD,<id>,<len>:<data>` (at most 2920 bytes each, nothing after the
 * data) as long as the UART takes it; when push() says no, data waits in the socket, whose
 * bounded buffer then stalls the TCP peer, so nothing is lost. Passive mode keeps data in the
 * socket (window 5760: AT+CIPRECVLEN and one AT+CIPRECVDATA see at most that) and sends one
 * `\r\n+IPD,<id>,<len>\r\n` until the host drains it; `CLOSED` waits until the buffered data
 * has been read.
 */
import type { AtMessage, CommandName, Remote } from '../../firmware-protocol/at/index.js';
import type { TcpSocket } from '../core/tcp-socket.js';
import type { UdpSocket } from '../core/udp-socket.js';
import { type AtDevice, type FormHandlers, fail, fields } from './context.js';
import type { Link } from './link-table.js';
import { replyAfterClosed, reportedLength } from './quirk-replies.js';
import { LINK_COUNT } from './settings.js';

/** Most payload bytes in one active-mode `+IPD` (larger arrivals are split). */
export const IPD_MAX = 2920;
/** Passive-mode receive window (CONFIG_LWIP_TCP_WND_DEFAULT); UDP beyond it is dropped. */
export const PASSIVE_WINDOW = 5760;

const isPassive = (dev: AtDevice, link: Link) => dev.settings.live.passive[link.id] === true;
const remoteOf = (dev: AtDevice, addr: [string, number]): Remote | null =>
  dev.settings.live.dinfo ? { ip: addr[0], port: addr[1] } : null;

/** Delivers what `link` has for the host, in the mode it is in. */
export function deliver(dev: AtDevice, link: Link): void {
  if (link.state !== 'open') return;
  const sock = dev.table.find(link.sock);
  if (!sock) return;
  if (sock.kind === 'tcp') {
    if (isPassive(dev, link)) notifyStream(dev, link, sock);
    else pushStream(dev, link, sock);
  } else {
    pullDatagrams(dev, link, sock);
    if (isPassive(dev, link)) notify(dev, link, link.datagramBytes);
  }
}

function pushStream(dev: AtDevice, link: Link, sock: TcpSocket): void {
  while (!dev.outputBlocked) {
    const r = sock.read(IPD_MAX);
    if (!r) return;
    if (!('data' in r)) {
      dev.closeLink(link, true); // FIN or reset, after every byte went out
      return;
    }
    link.lastActive = Date.now();
    const data = r.data;
    dev.say({ type: 'ipd', link: dev.label(link), length: data.length, remote: remoteOf(dev, link.remote), data });
  }
}

function notifyStream(dev: AtDevice, link: Link, sock: TcpSocket): void {
  notify(dev, link, sock.buffered);
  if (sock.buffered === 0 && (sock.peerClosed || sock.hasFailed)) dev.closeLink(link, true);
}

/** One `+IPD,<id>,<len>` per batch: only when more than the host left unread has arrived. */
function notify(dev: AtDevice, link: Link, buffered: number): void {
  if (link.notified || buffered <= link.quietBelow) return;
  link.notified = true;
  dev.say({ type: 'ipd-notify', link: dev.label(link), length: reportedLength(dev, link, buffered), remote: null });
}

/** UDP modes 1 and 2: the sender becomes the link's remote (once, or every time). */
function adopt(link: Link, from: [string, number]): void {
  if (link.udpMode === 0 || (link.udpMode === 1 && link.udpAdopted)) return;
  if (from[0] === link.remote[0] && from[1] === link.remote[1]) return;
  link.remote = from;
  link.udpAdopted = true;
}

function pullDatagrams(dev: AtDevice, link: Link, sock: UdpSocket): void {
  const passive = isPassive(dev, link);
  while (passive || !dev.outputBlocked) {
    const d = sock.readDgram(Number.MAX_SAFE_INTEGER);
    if (!d) return;
    adopt(link, d.addr);
    link.lastActive = Date.now();
    if (passive) {
      if (link.datagramBytes + d.data.length > PASSIVE_WINDOW) continue; // full: UDP is dropped
      link.datagrams.push(d);
      link.datagramBytes += d.data.length;
      continue;
    }
    for (let at = 0; at < d.data.length || at === 0; at += IPD_MAX) {
      const data = d.data.subarray(at, at + IPD_MAX);
      dev.say({ type: 'ipd', link: dev.label(link), length: data.length, remote: remoteOf(dev, d.addr), data });
    }
  }
}

/** AT+CIPRECVDATA: up to `max` bytes (UDP: one datagram, the rest of it is lost as with lwIP recv). */
function take(dev: AtDevice, link: Link, max: number): { data: Uint8Array; from: [string, number] } | null {
  if (link.type === 'UDP') {
    const d = link.datagrams.shift();
    if (!d) return null;
    link.datagramBytes -= d.data.length;
    return { data: d.data.subarray(0, max), from: d.addr };
  }
  const sock = dev.table.find(link.sock);
  if (sock?.kind !== 'tcp') return null;
  // One read takes what the window holds now: bytes it lets in meanwhile are for the next read.
  const want = Math.min(max, sock.buffered);
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < want) {
    const r = sock.read(want - got);
    if (!r || !('data' in r)) break;
    parts.push(r.data);
    got += r.data.length;
  }
  return got === 0 ? null : { data: parts.length === 1 ? parts[0]! : Buffer.concat(parts), from: link.remote };
}

function unread(dev: AtDevice, link: Link): number {
  if (link.type === 'UDP') return link.datagramBytes;
  const sock = dev.table.find(link.sock);
  return sock?.kind === 'tcp' ? sock.buffered : 0;
}

function setPassive(dev: AtDevice, ids: readonly number[], passive: boolean): void {
  if (passive && dev.settings.live.cipmode === 1)
    throw fail('execFailed', 'passive receive is not allowed in passthrough');
  for (const id of ids) dev.settings.live.passive[id] = passive;
  for (const id of ids) {
    const link = dev.links.get(id);
    if (link) dev.pump(link); // back to active: what waited goes out as +IPD
  }
}

const ALL_IDS = Array.from({ length: LINK_COUNT }, (_, i) => i);

/** The peer has closed and this read takes the last byte: closedRacingRead may play. */
function lastRead(dev: AtDevice, link: Link): boolean {
  const sock = dev.table.find(link.sock);
  if (sock?.kind !== 'tcp' || sock.buffered > 0 || !(sock.peerClosed || sock.hasFailed)) return false;
  return dev.quirks.fires('closedRacingRead');
}

function recvData(dev: AtDevice, id: number, max: number): 'done' | Promise<'done'> {
  const link = dev.links.get(id);
  if (!link || !isPassive(dev, link)) throw fail('execFailed', `link ${id} is not open in passive mode`);
  const held = unread(dev, link); // what the window holds before this read
  const got = take(dev, link, max);
  if (!got) throw fail('execFailed', `no data buffered on link ${id}`);
  const reply: AtMessage = {
    type: 'recv-data',
    length: got.data.length,
    remote: remoteOf(dev, got.from),
    data: got.data,
  };
  if (lastRead(dev, link)) return replyAfterClosed(dev, link, reply);
  dev.say(reply, { type: 'ok' });
  link.notified = false;
  // A read that took all the window held drained the link: whatever is buffered after it
  // is news and gets its own +IPD, including bytes the read let into the window (the peer sends
  // as the window opens), or a host that asked for more than it got would wait for nothing.
  link.quietBelow = got.data.length >= held ? 0 : unread(dev, link);
  dev.pump(link); // drained after the peer closed: CLOSED now
  return 'done';
}

/** Receive-mode handlers. */
export const RECEIVE: { readonly [N in CommandName]?: FormHandlers } = {
  CIPRECVTYPE: {
    query: (dev) => {
      const ids = dev.settings.live.mux === 1 ? ALL_IDS : [0];
      for (const id of ids) dev.info('+CIPRECVTYPE', fields(id, dev.settings.live.passive[id] ? 1 : 0));
    },
    set: (dev, cmd) => {
      const id = dev.settings.live.mux === 1 ? Number(cmd.args.link_id) : 0;
      setPassive(dev, id === LINK_COUNT ? ALL_IDS : [id], cmd.args.mode === 1);
    },
  },
  CIPRECVMODE: {
    query: (dev) => dev.info('+CIPRECVMODE', dev.settings.live.passive[0] ? '1' : '0'),
    set: (dev, cmd) => setPassive(dev, ALL_IDS, cmd.args.mode === 1),
  },
  CIPRECVLEN: {
    query: (dev) => {
      const len = (id: number) => {
        const link = dev.links.get(id);
        return link ? reportedLength(dev, link, unread(dev, link)) : -1;
      };
      dev.info('+CIPRECVLEN', dev.settings.live.mux === 1 ? ALL_IDS.map(len).join(',') : String(len(0)));
    },
  },
  CIPRECVDATA: {
    set: (dev, cmd) => recvData(dev, dev.settings.live.mux === 1 ? Number(cmd.args.link_id) : 0, Number(cmd.args.len)),
  },
};
