/**
 * TCP conversations turned into the segments a capture would show: the three-way handshake,
 * data with sequence and acknowledgement numbers that follow the bytes, FIN exchanges and
 * RST. The virtual network moves byte streams, not segments, so this is where the segments
 * are made; what a dissector needs (numbers, flags, checksums) is exact.
 *
 * ```ts
 * const flows = new TcpFlows();
 * flows.open(1, { src: '10.77.0.2', sport: 49152, dst: '10.77.0.80', dport: 80 }); // SYN, SYN-ACK, ACK
 * flows.data(1, 'client', bytes);   // PSH-ACK segments of at most 1460 bytes
 * flows.end(1, 'client');           // FIN-ACK, and the peer's ACK
 * flows.reset(1, 'server');         // RST
 * ```
 */
import { type Endpoints, TCP_FLAGS as F, tcpPacket } from './packets.js';

export type Side = 'client' | 'server';

/** Largest payload per segment (Ethernet MSS), so a capture looks like a real one. */
export const MSS = 1460;

interface Flow {
  ends: Endpoints;
  /** Next sequence number each side sends. */
  next: { client: number; server: number };
  fin: { client: boolean; server: boolean };
}

export class TcpFlows {
  private readonly flows = new Map<number, Flow>();
  private isn = 0x1000;

  /** Open conversations. */
  get size(): number {
    return this.flows.size;
  }

  /** The handshake of a new connection from `ends.src` (client) to `ends.dst` (server). */
  open(id: number, ends: Endpoints): Uint8Array[] {
    const c = this.nextIsn();
    const s = this.nextIsn();
    const flow: Flow = { ends, next: { client: c + 1, server: s + 1 }, fin: { client: false, server: false } };
    this.flows.set(id, flow);
    return [
      tcpPacket({ ...ends, seq: c, ack: 0, flags: F.SYN }),
      tcpPacket({ ...swap(ends), seq: s, ack: c + 1, flags: F.SYN | F.ACK }),
      this.segment(flow, 'client', F.ACK),
    ];
  }

  /** Data sent by `side`, cut into segments of at most MSS bytes. */
  data(id: number, side: Side, bytes: Uint8Array): Uint8Array[] {
    const flow = this.flows.get(id);
    if (!flow || bytes.length === 0) return [];
    const out: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += MSS) {
      const payload = bytes.subarray(at, Math.min(bytes.length, at + MSS));
      out.push(this.segment(flow, side, F.ACK | F.PSH, payload));
      flow.next[side] = (flow.next[side] + payload.length) >>> 0;
    }
    return out;
  }

  /** `side` sent FIN; the peer acknowledges it. The flow is forgotten once both sides have. */
  end(id: number, side: Side): Uint8Array[] {
    const flow = this.flows.get(id);
    if (!flow || flow.fin[side]) return [];
    const fin = this.segment(flow, side, F.FIN | F.ACK);
    flow.next[side] = (flow.next[side] + 1) >>> 0;
    flow.fin[side] = true;
    const ack = this.segment(flow, other(side), F.ACK);
    if (flow.fin.client && flow.fin.server) this.flows.delete(id);
    return [fin, ack];
  }

  /** `side` aborted the connection (RST); nothing when it was already closed both ways. */
  reset(id: number, side: Side): Uint8Array[] {
    const flow = this.flows.get(id);
    if (!flow) return [];
    this.flows.delete(id);
    return [this.segment(flow, side, F.RST | F.ACK)];
  }

  /** Forgets a flow without a packet (both sides closed cleanly elsewhere). */
  forget(id: number): void {
    this.flows.delete(id);
  }

  private segment(flow: Flow, side: Side, flags: number, payload?: Uint8Array): Uint8Array {
    const ends = side === 'client' ? flow.ends : swap(flow.ends);
    return tcpPacket({
      ...ends,
      seq: flow.next[side],
      ack: flow.next[other(side)],
      flags,
      ...(payload ? { payload } : {}),
    });
  }

  private nextIsn(): number {
    // Deterministic and far apart, so two runs of one test give the same capture.
    this.isn = (this.isn + 0x01000193) >>> 0;
    return this.isn;
  }
}

const other = (side: Side): Side => (side === 'client' ? 'server' : 'client');

function swap(e: Endpoints): Endpoints {
  return { src: e.dst, dst: e.src, sport: e.dport, dport: e.sport };
}
