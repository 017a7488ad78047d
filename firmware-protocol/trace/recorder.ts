/**
 * A trace in the making: serial chunks and network events in, pcapng blocks out to a sink.
 * Interface 0 is the serial line (LINKTYPE_USER0, one record per SLIP frame or AT line,
 * decoded by wireshark/netcoproc.lua), interface 1 the board's network (raw IPv4 with
 * segments made by TcpFlows, so HTTP, TLS and DNS dissect as usual).
 *
 * ```ts
 * const rec = new TraceRecorder({ side: 'host', protocol: 'slip', sink: (b) => file.write(b) });
 * rec.serial('hostToDevice', bytes);
 * rec.tcpOpen(1, { src: '10.77.0.2', sport: 49152, dst: '10.77.0.80', dport: 80 });
 * ```
 */
import { dnsExchange, type Endpoints, udpPacket } from './packets.js';
import {
  DIRECTION,
  enhancedPacket,
  interfaceDescription,
  LINKTYPE_RAW,
  LINKTYPE_USER0,
  sectionHeader,
} from './pcapng.js';
import {
  type Direction,
  encodeRecord,
  type RecordSplitter,
  recordSplitter,
  type SerialRecord,
} from './serial-records.js';
import { type Side, TcpFlows } from './tcp-flows.js';

export const IFACE_SERIAL = 0;
export const IFACE_NETWORK = 1;

/** The resolver address DNS exchanges are shown with (the virtual network's gateway). */
export const DNS_SERVER = '10.77.0.1';

export interface RecorderOptions {
  /** Where the capture is taken: decides which serial direction is inbound. */
  side: 'host' | 'device';
  protocol: 'slip' | 'at' | 'auto';
  sink: (bytes: Uint8Array) => void;
  /** Microseconds since the Unix epoch (default: the performance clock). */
  now?: () => number;
  /** Named in the section header (shb_userappl). */
  application?: string;
  /** Sees every serial record as it is written (live views). */
  onRecord?: (r: SerialRecord) => void;
}

const clock = (): number => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class TraceRecorder {
  private readonly splitters: Record<Direction, RecordSplitter>;
  private readonly flows = new TcpFlows();
  private readonly now: () => number;
  private dnsId = 0;

  constructor(private readonly o: RecorderOptions) {
    this.now = o.now ?? clock;
    this.splitters = {
      hostToDevice: recordSplitter(o.protocol, 'hostToDevice'),
      deviceToHost: recordSplitter(o.protocol, 'deviceToHost'),
    };
    o.sink(sectionHeader(o.application ?? 'netcoproc'));
    o.sink(interfaceDescription(LINKTYPE_USER0, 'serial'));
    o.sink(interfaceDescription(LINKTYPE_RAW, 'network'));
  }

  /** Bytes that crossed the serial line in `dir`. */
  serial(dir: Direction, chunk: Uint8Array): void {
    for (const r of this.splitters[dir].push(chunk)) this.record(r);
  }

  /** A line of its own in the serial conversation: "host attached", "reboot", ... */
  note(text: string, dir: Direction = 'deviceToHost'): void {
    this.record({ dir, kind: 'note', bytes: new TextEncoder().encode(text) });
  }

  tcpOpen(id: number, ends: Endpoints): void {
    this.net(this.flows.open(id, ends));
  }

  tcpData(id: number, side: Side, bytes: Uint8Array): void {
    this.net(this.flows.data(id, side, bytes));
  }

  tcpEnd(id: number, side: Side): void {
    this.net(this.flows.end(id, side));
  }

  tcpReset(id: number, side: Side): void {
    this.net(this.flows.reset(id, side));
  }

  udp(ends: Endpoints, payload: Uint8Array): void {
    this.net([udpPacket(ends, payload)]);
  }

  /** The board resolved `name` (to nothing: NXDOMAIN); shown as a DNS query and its answer. */
  dns(client: string, name: string, addresses: string[]): void {
    const { query, answer } = dnsExchange(++this.dnsId, name, addresses);
    const ends = { src: client, sport: 49152 + (this.dnsId % 16384), dst: DNS_SERVER, dport: 53 };
    this.udp(ends, query);
    this.udp({ src: ends.dst, sport: 53, dst: ends.src, dport: ends.sport }, answer);
  }

  private record(r: SerialRecord): void {
    const towardsDevice = r.dir === 'hostToDevice';
    const inbound = this.o.side === 'device' ? towardsDevice : !towardsDevice;
    const direction = inbound ? DIRECTION.inbound : DIRECTION.outbound;
    this.o.sink(enhancedPacket(IFACE_SERIAL, this.now(), encodeRecord(r), { direction }));
    this.o.onRecord?.(r);
  }

  private net(packets: Uint8Array[]): void {
    if (packets.length === 0) return;
    const ts = this.now();
    for (const p of packets) this.o.sink(enhancedPacket(IFACE_NETWORK, ts, p));
  }
}
