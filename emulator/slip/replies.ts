/**
 * The device's answers as messages: a request's response (its status from the error it raised,
 * in the profile's errno numbering), and the EINVAL answer to a request it could not decode.
 */
import { errno as E, fromLinuxErrno, type Message, type RequestMsg } from '../../firmware-protocol/index.js';
import { DeviceError, deviceErrno } from '../core/device-error.js';
import { ResolverError } from '../core/socket-table.js';
import type { Profile } from '../profiles.js';

/** The response to `req`: `body` with status 0, or the status and message of `err`. */
export function responseTo(req: RequestMsg, body: unknown, err: unknown, errnoBase: Profile['errnoBase']): Message {
  if (err === undefined) return { kind: 'response', seq: req.seq, op: req.op, status: 0, body } as Message;
  let status: number;
  let message: string;
  if (err instanceof ResolverError) {
    status = err.status;
    message = err.message;
  } else if (err instanceof DeviceError) {
    status = fromLinuxErrno(deviceErrno(err.code), errnoBase);
    message = err.message;
  } else {
    status = fromLinuxErrno(E.EINVAL, errnoBase);
    message = err instanceof Error ? err.message : String(err);
  }
  return { kind: 'response', seq: req.seq, op: req.op, status, message } as Message;
}

/**
 * SPEC §2: a request with a good CRC but an unknown opcode or a malformed body is not run, but
 * answered EINVAL (its seq, its own opcode byte), so the host fails at once instead of waiting.
 */
export function invalidAnswer(stand: Message, errnoBase: Profile['errnoBase']): Message {
  const status = fromLinuxErrno(E.EINVAL, errnoBase);
  const message = (stand.invalid ?? '').slice(0, 200);
  return { kind: 'response', seq: stand.seq, op: 'PING', opcode: stand.opcode, status, message } as Message;
}
