/**
 * What a SLIP personality is built from, and what it reports (forwards, dropped frames).
 */
import type { BadRequest, Message } from '../../firmware-protocol/index.js';
import type { FileStore } from '../files/index.js';
import type { NetInterface } from '../network/index.js';
import type { Profile } from '../profiles.js';
import type { Random } from '../random.js';

export interface SlipPersonalityOptions {
  profile: Profile;
  /** This board's attachment to the (possibly shared) virtual network. */
  network: NetInterface;
  random: Random;
  /** The board's file store (`/flash`); without one the FILE operations answer EOPNOTSUPP. */
  files?: FileStore;
  /** Grant the reliable link (SPEC §7) when a host asks (default true). */
  reliable?: boolean;
  /** A device listener became reachable from the machine at 127.0.0.1:forwardPort. */
  onForward?: (f: Forward) => void;
  /** Called for every frame the device had to drop (for logs and fault statistics). */
  onBadFrame?: (reason: string) => void;
  /** The UART's speed when the line is paced (its reliable link models the line's timing). */
  baud?: number;
}

/** A stand-in for a request that could not be decoded: it takes its place in the link's order. */
export function invalidRequest(req: BadRequest, reason: string): Message {
  const stand = { kind: 'request', seq: req.seq, op: 'PING', body: { payload: new Uint8Array(0) } } as Message;
  return { ...stand, opcode: req.opcode, invalid: reason, ...(req.link ? { link: req.link } : {}) };
}

export interface Forward {
  ip: string;
  port: number;
  forwardPort: number;
}
