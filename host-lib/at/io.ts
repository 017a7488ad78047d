/**
 * Background data movement, one AT command at a time, picked whenever the channel is free:
 *
 * - read: a link whose device buffer holds bytes (passive `+IPD,<id>,<len>` seen) and whose
 *   socket has room → `AT+CIPRECVDATA=<id>,<room>`. Never more than the room: the host
 *   buffer cannot overrun, and the module's TCP window back-pressures the peer.
 * - send: a stream socket with queued bytes on an open link → `AT+CIPSEND=<id>,<n>` (n ≤ 8192,
 *   2048 on old firmware), payload after `>`, done at `SEND OK`.
 *
 * Links are served round-robin, and on one link reads and sends take turns by bytes: the
 * direction behind goes first. Taking turns by commands starves the return of an echo: a module
 * hands out at most its TCP window (5760 B) per AT+CIPRECVDATA against 8192 B per AT+CIPSEND, so
 * the echoed bytes pile up in its window, the peer stops reading while it cannot write, and a
 * CIPSEND then waits for a `SEND OK` that only a read could free (the channel runs one command).
 */
import { constants as C, errno as E } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import { AtSocket } from './at-socket.js';
import type { AtJob } from './channel.js';
import type { LinkEntry, LinkTable } from './links.js';

export interface IoLimits {
  /** Largest AT+CIPRECVDATA request. */
  readonly maxRead: number;
  /** Largest AT+CIPSEND payload. */
  readonly maxSend: number;
  /** Deadline of a data command moving `bytes`. */
  timeoutMs(name: 'CIPSEND' | 'CIPRECVDATA', bytes: number): number;
}

/**
 * A read of at least this much while the link is behind on reads (an echo's return) is not taken
 * as drained: the next turn reads again before sending, and ERROR says when the module really has
 * nothing. A module hands out at most its window per read, and its notice of what the read let in
 * may come only after the next command has started. A short answer to a longer request (a PUBACK)
 * is taken as it is, so request/response traffic pays no extra round trip.
 */
const BULK_READ = 2920;

/**
 * Moves a link's send lead by `bytes`, within one CIPSEND's worth either way: only the recent
 * balance decides whose turn it is (a long download must not starve the sends that follow it).
 */
function lead(e: LinkEntry, bytes: number, maxSend: number): void {
  e.sendLead = Math.max(-maxSend, Math.min(maxSend, e.sendLead + bytes));
}

/** Round-robin cursor over the link table. */
export class IoPicker {
  private cursor = 0;

  constructor(
    private readonly table: LinkTable,
    private readonly limits: () => IoLimits,
  ) {}

  /** The next read or send to run, or undefined when there is nothing to move. */
  next(): AtJob | undefined {
    const links = this.table.links;
    for (let k = 0; k < links.length; k++) {
      const e = links[(this.cursor + k) % links.length]!;
      const job = this.jobFor(e);
      if (job) {
        this.cursor = (e.id + 1) % links.length;
        return job;
      }
    }
    return undefined;
  }

  private jobFor(e: LinkEntry): AtJob | undefined {
    const s = e.sink;
    if (!(s instanceof AtSocket)) return undefined;
    const readFirst = e.sendLead > 0;
    const first = readFirst ? this.readJob(e, s) : this.sendJob(e, s);
    return first ?? (readFirst ? this.sendJob(e, s) : this.readJob(e, s));
  }

  private readJob(e: LinkEntry, s: AtSocket): AtJob | undefined {
    if (!e.readable) return undefined;
    const want = Math.min(s.room(), this.limits().maxRead);
    if (want <= 0) return undefined;
    e.reading = true;
    const notices = e.notices;
    let got = 0;
    // Drained = the device gave less than asked. A notice that arrived meanwhile announces
    // newer bytes (it may even precede our reply on the wire), so it keeps the link readable.
    const settle = (drained: boolean) => {
      e.reading = false;
      if (drained && e.notices === notices) e.devData = false;
      if (!e.closedMidRead) return;
      e.closedMidRead = false;
      if (e.sink === s) s.onClosed(); // EOF after the bytes this read brought
    };
    return {
      cmd: {
        name: 'CIPRECVDATA',
        form: 'set',
        params: [e.id, want],
        timeoutMs: this.limits().timeoutMs('CIPRECVDATA', want),
      },
      onLine: (m) => {
        if (m.type !== 'recv-data') return;
        got += m.data.length;
        lead(e, -m.data.length, this.limits().maxSend);
        s.onData(m.data, m.remote);
      },
      resolve: () => settle(got < want && !(got >= BULK_READ && e.sendLead > 0)),
      // ERROR = nothing buffered (or the link went away); a timeout leaves the notice standing.
      reject: (err) => settle(!(err instanceof OSError && err.errno === E.ETIMEDOUT)),
    };
  }

  private sendJob(e: LinkEntry, s: AtSocket): AtJob | undefined {
    if (e.phase !== 'open' || s.type !== C.SOCK_STREAM || s.tx.bytes === 0) return undefined;
    const chunk = s.tx.peek(this.limits().maxSend);
    return {
      cmd: {
        name: 'CIPSEND',
        form: 'set',
        params: [e.id, chunk.length],
        payload: chunk,
        timeoutMs: this.limits().timeoutMs('CIPSEND', chunk.length),
      },
      resolve: () => {
        lead(e, chunk.length, this.limits().maxSend);
        s.onSent(chunk.length, null);
      },
      reject: (err) => s.onSent(0, err instanceof OSError ? err : new OSError(E.EIO, err.message)),
    };
  }
}
