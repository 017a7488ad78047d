/**
 * Serial records as one line of readable text each, for `netcoproc trace` and the live view:
 *
 * ```
 * host→dev  #3 CONNECT sock 0 addr 10.77.0.80:80
 * dev→host  #3 CONNECT ok
 * dev→host  DATA sock 0 data 512 bytes
 * dev→host  #9 RECV ECONNRESET "connection reset"
 * host→dev  AT+CIPSTART=0,"TCP","http.test",80
 * ```
 *
 * A SerialDescriber keeps what it learnt from HELLO (the device's errno numbering), so error
 * statuses are named in the host's numbering whatever the board reports.
 */
import { type ErrnoBase, errnoName, toLinuxErrno } from '../errno.js';
import { decodeMessage, FrameError, type Message } from '../frame.js';
import type { SerialRecord } from './serial-records.js';

export const ARROW = { hostToDevice: 'host→dev', deviceToHost: 'dev→host' } as const;

const latin1 = new TextDecoder('latin1');

/** A value of a decoded body as short text: sizes for bytes, ip:port for addresses. */
function valueText(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) {
    if (v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number') return `${v[0]}:${v[1]}`;
    return `[${v.map(valueText).join(', ')}]`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (v && typeof v === 'object') return fieldsText(v as Record<string, unknown>);
  return String(v);
}

function fieldsText(body: Record<string, unknown>): string {
  return Object.entries(body)
    .map(([k, v]) => {
      if (k === 'bootNonce' && v instanceof Uint8Array) return `${k} ${hex(v)}`;
      return k === 'status' && typeof v === 'string' ? `${k} ${v}` : `${k} ${valueText(v)}`;
    })
    .join(' ');
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** `"AT+GMR\r\n"` → `AT+GMR`; control bytes shown as \r, \n or \xNN. */
export function printable(bytes: Uint8Array, max = 120): string {
  const s = latin1.decode(bytes.subarray(0, max)).replace(/\r?\n$/, '');
  let shown = '';
  for (const c of s) {
    const code = c.charCodeAt(0);
    if (code >= 0x20 && code < 0x7f) shown += c;
    else shown += c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\x${code.toString(16).padStart(2, '0')}`;
  }
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : shown;
}

export class SerialDescriber {
  private errnoBase: ErrnoBase = 'linux';

  /** The message of a SLIP record, or undefined (another kind, or a frame that does not decode). */
  message(r: SerialRecord): Message | undefined {
    if (r.kind !== 'slip') return undefined;
    try {
      return decodeMessage(r.bytes);
    } catch {
      return undefined;
    }
  }

  /** One line of text, without the direction arrow. */
  text(r: SerialRecord): string {
    switch (r.kind) {
      case 'slip':
        return this.frameText(r.bytes);
      case 'line':
        return printable(r.bytes);
      case 'data':
        return `data ${r.bytes.length} bytes`;
      case 'note':
        return `-- ${latin1.decode(r.bytes)} --`;
      default:
        return `garbage: ${printable(r.bytes)}`;
    }
  }

  /** `host→dev  #3 CONNECT sock 0 addr 10.77.0.80:80` */
  line(r: SerialRecord): string {
    return `${ARROW[r.dir]}  ${this.text(r)}`;
  }

  private frameText(frame: Uint8Array): string {
    let m: Message;
    try {
      m = decodeMessage(frame);
    } catch (err) {
      const code = err instanceof FrameError ? err.code : 'body';
      return `bad frame (${code}): ${(err as Error).message}, ${frame.length} bytes`;
    }
    const seq = m.kind === 'event' ? '' : `#${m.seq} `;
    const link = m.link ? ` [link ${m.link.unnumbered ? '-' : m.link.seq} ack ${m.link.ack}]` : '';
    if ('message' in m) return `${seq}${m.op} ${this.statusText(m.status, m.message)}${link}`;
    const fields = { ...(m.body as Record<string, unknown>) };
    // CONNECTED and SOCKERR carry an errno of their own: named like a failed response's.
    if (typeof fields.status === 'number' && fields.status !== 0) fields.status = this.errnoText(fields.status);
    const body = fieldsText(fields);
    if (m.op === 'HELLO' && m.kind === 'response') {
      this.errnoBase = (m.body as { errnoBase: number }).errnoBase === 1 ? 'newlib' : 'linux';
    }
    const ok = m.kind === 'response' && body === '' ? ' ok' : '';
    return `${seq}${m.op}${body ? ` ${body}` : ''}${ok}${link}`;
  }

  private statusText(status: number, message: string): string {
    const name = this.errnoText(status);
    return message && message !== name ? `${name} ${JSON.stringify(message)}` : name;
  }

  private errnoText(status: number): string {
    if (status < 0) return `resolver error ${status}`;
    return errnoName(toLinuxErrno(status, this.errnoBase)) ?? `errno ${status}`;
  }
}
