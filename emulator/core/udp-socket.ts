/**
 * A device UDP socket. Bound lazily (first sendto or connect picks a port, as lwIP does);
 * received datagrams wait in a short queue and later ones are dropped, like lwIP's
 * LWIP_INCOMING_PACKET_QUEUE_LEN.
 */
import type { NetInterface, VirtualUdp } from '../network/index.js';
import { DeviceError, fromNetCode } from './device-error.js';
import type { SockAddr, SocketNotify } from './types.js';

export interface Datagram {
  data: Uint8Array;
  addr: SockAddr;
}

export class UdpSocket {
  readonly kind = 'udp';
  state: 'open' | 'closed' = 'open';
  peer?: SockAddr;
  private endpoint?: VirtualUdp;
  private binding?: Promise<VirtualUdp>;
  private readonly queue: Datagram[] = [];
  dropped = 0;
  /** Payload bytes received / sent so far (live view). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly id: number,
    private readonly net: NetInterface,
    private readonly notify: SocketNotify,
    private readonly queueLimit: number,
  ) {}

  /** Binds to `port` (0 = any free one); a second bind fails with EINVAL like BSD. */
  async bind(port: number): Promise<number> {
    if (this.binding) throw new DeviceError('EINVAL', 'already bound');
    return (await this.ensureBound(port)).localPort;
  }

  private ensureBound(port = 0): Promise<VirtualUdp> {
    if (!this.binding) {
      this.binding = this.net.openUdp(port).then(
        (ep) => {
          if (this.state === 'closed') ep.close();
          this.endpoint = ep;
          ep.onMessage((data, ip, srcPort) => this.onMessage(data, [ip, srcPort]));
          return ep;
        },
        (err: { code?: string }) => {
          this.binding = undefined;
          throw new DeviceError(fromNetCode(err?.code));
        },
      );
    }
    return this.binding;
  }

  private onMessage(data: Uint8Array, addr: SockAddr): void {
    if (this.state === 'closed') return;
    if (this.peer && (this.peer[0] !== addr[0] || this.peer[1] !== addr[1])) return;
    if (this.queue.length >= this.queueLimit) {
      this.dropped++;
      return;
    }
    this.bytesIn += data.length;
    this.queue.push({ data, addr });
    this.notify.onReadable(this.id);
  }

  /** UDP connect: records the default peer (and filters what is received). Never in progress. */
  async connect(ip: string, port: number): Promise<void> {
    await this.ensureBound();
    this.peer = [ip, port];
  }

  async sendto(data: Uint8Array, addr: SockAddr): Promise<number> {
    const ep = await this.ensureBound();
    if (this.state === 'closed') throw new DeviceError('EBADF');
    ep.send(data, addr[0], addr[1]);
    this.bytesOut += data.length;
    return data.length;
  }

  send(data: Uint8Array): Promise<number> {
    if (!this.peer) return Promise.reject(new DeviceError('ENOTCONN', 'UDP socket has no peer: use sendto'));
    return this.sendto(data, this.peer);
  }

  /** Takes the oldest datagram if it fits `maxBytes` (undefined otherwise or when none waits). */
  readDgram(maxBytes: number): Datagram | undefined {
    const head = this.queue[0];
    if (!head || head.data.length > maxBytes) return undefined;
    return this.queue.shift();
  }

  /** Size of the oldest queued datagram, or -1. */
  get nextSize(): number {
    return this.queue[0]?.data.length ?? -1;
  }

  get localPort(): number {
    return this.endpoint?.localPort ?? 0;
  }

  /** Bytes of the datagrams waiting to be read. */
  get buffered(): number {
    return this.queue.reduce((n, d) => n + d.data.length, 0);
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.endpoint?.close();
    this.queue.length = 0;
  }
}
