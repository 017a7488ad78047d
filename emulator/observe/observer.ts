/**
 * How a live view or a trace watches an emulated board: small callbacks the emulator calls
 * when it was given observers (`createEmulator({ observers: [...] })`), and nothing at all
 * otherwise. The emulator does not know what is watching (an HTTP page, a pcapng file).
 */
import type { Duplex } from 'node:stream';
import { tapDuplex } from '../../firmware-protocol/trace/tap.js';
import type { FaultEvent } from '../faults/index.js';
import type { NetInterface } from '../network/index.js';
import { type Endpoints, type NetObserver, NetTap, type Side, TappedInterface } from './net-tap.js';

export type LineDirection = 'hostToDevice' | 'deviceToHost';

export interface EmulatorObserver {
  /** Bytes on the emulated UART, as the host wrote them or as the board sent them. */
  serial?(dir: LineDirection, chunk: Uint8Array): void;
  /** The board's network traffic. */
  net?: NetObserver;
  /** Every injected fault, reboots included. */
  fault?(e: FaultEvent): void;
}

/** One NetObserver that tells all of `list`. */
function fanOutNet(list: NetObserver[]): NetObserver {
  if (list.length === 1) return list[0] as NetObserver;
  const each = (call: (o: NetObserver) => void): void => {
    for (const o of list) call(o);
  };
  return {
    tcpOpen: (id: number, e: Endpoints) => each((o) => o.tcpOpen(id, e)),
    tcpData: (id: number, s: Side, b: Uint8Array) => each((o) => o.tcpData(id, s, b)),
    tcpEnd: (id: number, s: Side) => each((o) => o.tcpEnd(id, s)),
    tcpReset: (id: number, s: Side) => each((o) => o.tcpReset(id, s)),
    udp: (e: Endpoints, p: Uint8Array) => each((o) => o.udp(e, p)),
    dns: (c: string, n: string, a: string[]) => each((o) => o.dns(c, n, a)),
  };
}

/** The board's attachment as the observers' NetTap sees it; `nic` itself when none watches the network. */
export function observedNic(nic: NetInterface, observers: readonly EmulatorObserver[]): NetInterface {
  const net = observers.flatMap((o) => (o.net ? [o.net] : []));
  return net.length ? new TappedInterface(new NetTap(nic, fanOutNet(net)), nic.ip) : nic;
}

/** The UART as the observers' tap sees it; `uart` itself when none watches the line. */
export function observedUart(uart: Duplex, observers: readonly EmulatorObserver[]): Duplex {
  const serial = observers.flatMap((o) => (o.serial ? [o.serial.bind(o)] : []));
  if (serial.length === 0) return uart;
  return tapDuplex(
    uart,
    (dir, chunk) => {
      const d: LineDirection = dir === 'out' ? 'hostToDevice' : 'deviceToHost';
      for (const s of serial) s(d, chunk);
    },
    { destroyLink: false },
  );
}

/** Calls `onFault` and then every observer's `fault`. */
export function faultFanOut(
  onFault: ((e: FaultEvent) => void) | undefined,
  observers: readonly EmulatorObserver[],
): ((e: FaultEvent) => void) | undefined {
  const list = observers.flatMap((o) => (o.fault ? [o.fault.bind(o)] : []));
  if (list.length === 0) return onFault;
  return (e) => {
    onFault?.(e);
    for (const f of list) f(e);
  };
}

export type { Endpoints, NetObserver, Side };
