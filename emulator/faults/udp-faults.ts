/**
 * A device UDP endpoint with datagram faults both ways: loss, duplication, reordering (a
 * datagram is held back and sent after the next one, or alone after REORDER_HOLD_MS), and
 * blackholed hosts whose datagrams vanish. Datagrams are numbered per endpoint and direction;
 * the trace names them by that number.
 */
import type { UdpMessageHandler, VirtualUdp } from '../network/index.js';
import type { HostFaults } from './scenario.js';
import type { FaultEvent } from './trace.js';

/** What happens to one datagram. */
export type UdpVerdict = 'pass' | 'loss' | 'duplicate' | 'reorder' | 'blackhole';

/** What the endpoint needs of the network's fault source (net-faults.ts's NetFaults). */
export interface UdpFaultSource {
  faultsFor(ip: string): { host: string; faults: HostFaults };
  udpVerdict(faults: HostFaults): UdpVerdict;
  recordUdp(e: Omit<FaultEvent, 'dir' | 'source'>): void;
}

/** Longest a reordered datagram waits for a successor to overtake it. */
const REORDER_HOLD_MS = 20;

type Deliver = () => void;

/** One direction: numbering, and the datagram held back for reordering. */
class Way {
  count = 0;
  private held: { deliver: Deliver; timer: NodeJS.Timeout } | undefined;

  constructor(readonly flow: 'in' | 'out') {}

  hold(deliver: Deliver): void {
    this.flush();
    // Sent later, outside the sender's call: a failure then is a lost datagram, as UDP may.
    const late = (): void => {
      try {
        deliver();
      } catch {}
    };
    this.held = { deliver: late, timer: setTimeout(() => this.flush(), REORDER_HOLD_MS) };
    this.held.timer.unref();
  }

  /** Sends the held datagram (after the one that overtook it). */
  flush(): void {
    const h = this.held;
    if (!h) return;
    this.held = undefined;
    clearTimeout(h.timer);
    h.deliver();
  }

  drop(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = undefined;
  }
}

export class FaultyUdp implements VirtualUdp {
  private handler: UdpMessageHandler | null = null;
  private readonly out = new Way('out');
  private readonly in = new Way('in');

  constructor(
    private readonly ep: VirtualUdp,
    private readonly net: UdpFaultSource,
  ) {}

  get localPort(): number {
    return this.ep.localPort;
  }

  send(data: Uint8Array, ip: string, port: number): void {
    // Copy now, as the endpoint would: a held or repeated datagram must not see the caller reuse its buffer.
    const copy = Uint8Array.prototype.slice.call(data);
    this.apply(this.out, ip, () => this.ep.send(copy, ip, port));
  }

  onMessage(cb: UdpMessageHandler): void {
    this.handler = cb;
    this.ep.onMessage((data, ip, port) => this.apply(this.in, ip, () => this.handler?.(data, ip, port)));
  }

  close(): void {
    this.out.drop();
    this.in.drop();
    this.ep.close();
  }

  /** Decides one datagram's fate and carries it out; a datagram that passes releases a held one after it. */
  private apply(way: Way, ip: string, deliver: Deliver): void {
    const n = way.count++;
    const { host, faults } = this.net.faultsFor(ip);
    const verdict = this.net.udpVerdict(faults);
    if (verdict !== 'pass') {
      const kind = verdict === 'blackhole' ? 'blackhole' : (`udp-${verdict}` as const);
      this.net.recordUdp({ kind, host, flow: way.flow, offset: n });
    }
    switch (verdict) {
      case 'loss':
      case 'blackhole':
        break;
      case 'reorder':
        way.hold(deliver);
        break;
      case 'duplicate':
        deliver();
        deliver();
        way.flush();
        break;
      case 'pass':
        deliver();
        way.flush();
        break;
    }
  }
}
