/**
 * ESP-AT's link table: ids 0–4 chosen by the host (AT+CIPSTART=<id>) or by the firmware
 * (AT+CIPSTARTEX, server accepts), each backed by a socket of the protocol-agnostic
 * SocketTable. The two id spaces differ (a listening server socket takes a table slot but no
 * link id), so this table maps both ways.
 */
import type { Datagram } from '../core/udp-socket.js';
import { LINK_COUNT } from './settings.js';

/** The transport of a link, as AT+CIPSTATE prints it. */
export type LinkType = 'TCP' | 'UDP' | 'SSL';

/** One open (or opening) link. */
export interface Link {
  readonly id: number;
  /** The SocketTable id behind it. */
  readonly sock: number;
  readonly type: LinkType;
  state: 'connecting' | 'open';
  /** Where data goes: fixed for TCP, adoptable for UDP modes 1 and 2. */
  remote: [string, number];
  readonly localPort: number;
  /** Accepted by AT+CIPSERVER (CIPSTATE `<tetype>` 1). */
  readonly server: boolean;
  /** UDP `<mode>`: 0 fixed remote, 1 adopt the first other sender once, 2 adopt every sender. */
  readonly udpMode: 0 | 1 | 2;
  udpAdopted: boolean;
  /** Passive mode: a `+IPD,<id>,<len>` was sent and the host has not read since. */
  notified: boolean;
  /** Passive mode: bytes left after the host's last read; only more than this is news. */
  quietBelow: number;
  /** Passive UDP: datagrams waiting for AT+CIPRECVDATA. */
  readonly datagrams: Datagram[];
  datagramBytes: number;
  /** Last traffic, for the AT+CIPSTO idle timeout of server links. */
  lastActive: number;
}

/** What a new link needs; the rest starts empty. */
export type NewLink = Pick<Link, 'id' | 'sock' | 'type' | 'state' | 'remote' | 'localPort' | 'server' | 'udpMode'>;

/**
 * @example
 * const links = new LinkTable();
 * links.add({ id: 0, sock: 3, type: 'TCP', state: 'connecting', remote: ['10.77.0.7', 7], localPort: 49153, server: false, udpMode: 0 });
 * links.bySock(3)?.id  // 0
 */
export class LinkTable {
  private readonly slots: (Link | undefined)[] = new Array(LINK_COUNT).fill(undefined);
  private readonly sockets = new Map<number, Link>();
  /** A link was opened since boot (AT+CIPSTATUS tells "all closed" from "never opened"). */
  everUsed = false;

  get(id: number): Link | undefined {
    return this.slots[id];
  }

  bySock(sock: number): Link | undefined {
    return this.sockets.get(sock);
  }

  isFree(id: number): boolean {
    return id >= 0 && id < LINK_COUNT && this.slots[id] === undefined;
  }

  /** Lowest free id, or -1 when all five are taken. */
  lowestFree(): number {
    return this.slots.indexOf(undefined);
  }

  add(fields: NewLink): Link {
    const link: Link = {
      ...fields,
      udpAdopted: false,
      notified: false,
      quietBelow: 0,
      datagrams: [],
      datagramBytes: 0,
      lastActive: Date.now(),
    };
    this.slots[link.id] = link;
    this.sockets.set(link.sock, link);
    this.everUsed = true;
    return link;
  }

  remove(link: Link): void {
    if (this.slots[link.id] === link) this.slots[link.id] = undefined;
    this.sockets.delete(link.sock);
  }

  /** Forgets every link (a reboot; their sockets are closed by the caller). */
  clear(): void {
    this.slots.fill(undefined);
    this.sockets.clear();
    this.everUsed = false;
  }

  /** Open or opening links in id order. */
  all(): Link[] {
    return this.slots.filter((l): l is Link => l !== undefined);
  }

  get size(): number {
    return this.sockets.size;
  }
}
