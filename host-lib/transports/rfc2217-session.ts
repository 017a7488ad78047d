/**
 * The client side of one RFC 2217 connection as a pure push state machine: wire bytes from the
 * server in → data bytes for the driver, telnet replies for the server, and events (the server
 * accepted COM-PORT-OPTION, answered a command, notified modem/line state). No I/O, no timers:
 * the Duplex in `rfc2217.ts` does the socket and the deadlines.
 *
 * Negotiation as pyserial does it (the server's notes in the RFC): the CLIENT sends
 * `IAC WILL COM-PORT-OPTION` (`ff fb 2c`) and waits for the server's `IAC DO` (`ff fd 2c`).
 */
import {
  type ComPortCommand,
  encodeComPort,
  TELNET_OPTIONS as OPT,
  parseComPort,
  TelnetDecoder,
  type TelnetItem,
  TelnetNegotiator,
  type Verb,
} from '../../firmware-protocol/rfc2217.js';

export type ClientEvent =
  /** The server agreed (DO) or refused (DONT) COM-PORT-OPTION. */
  | { type: 'com-port'; enabled: boolean }
  /** The server's answer (code + 100) to one of our commands, with the value now in force. */
  | { type: 'answer'; command: ComPortCommand; value: number | null; raw: Uint8Array }
  | { type: 'modem-state'; value: number }
  | { type: 'line-state'; value: number }
  /** The server asks us to stop / restart sending data. */
  | { type: 'suspend' }
  | { type: 'resume' }
  | { type: 'ignored'; reason: string };

export interface ClientOutput {
  /** Device bytes (IAC doubling undone). May alias the pushed chunk. */
  data: Uint8Array[];
  /** Telnet replies to send the server, in order. */
  replies: Uint8Array[];
  events: ClientEvent[];
}

/**
 * ```ts
 * const session = new Rfc2217ClientSession();
 * for (const b of session.start()) socket.write(b);   // WILL BINARY, DO BINARY, WILL COM-PORT-OPTION
 * socket.write(session.command('SET-BAUDRATE', 921600));
 * const { data, replies, events } = session.push(chunk);   // events: [{ type: 'answer', command: 'SET-BAUDRATE', value: 921600 }]
 * ```
 */
export class Rfc2217ClientSession {
  readonly #decoder = new TelnetDecoder();
  readonly #options = new TelnetNegotiator({
    us: [OPT.BINARY, OPT.SGA, OPT.COM_PORT],
    him: [OPT.BINARY, OPT.SGA, OPT.COM_PORT],
  });
  #out: ClientOutput = { data: [], replies: [], events: [] };

  /** Our opening offers: an 8-bit path both ways, and COM-PORT-OPTION on our side. */
  start(): Uint8Array[] {
    const offers = [
      this.#options.request('us', OPT.BINARY),
      this.#options.request('him', OPT.BINARY),
      this.#options.request('us', OPT.COM_PORT),
    ];
    return offers.filter((b) => b !== null);
  }

  /** True once the server said DO COM-PORT-OPTION. */
  get comPort(): boolean {
    return this.#options.enabled('us', OPT.COM_PORT);
  }

  /** Wire bytes of one COM-PORT command, e.g. `command('SET-CONTROL', CONTROL.DTR_ON)`. */
  command(command: ComPortCommand, value: number | null): Uint8Array {
    return encodeComPort(command, value);
  }

  push(chunk: Uint8Array): ClientOutput {
    this.#out = { data: [], replies: [], events: [] };
    for (const item of this.#decoder.push(chunk)) this.#onItem(item);
    return this.#out;
  }

  #onItem(item: TelnetItem): void {
    if (item.type === 'data') this.#out.data.push(item.data);
    else if (item.type === 'negotiate') this.#onNegotiate(item.verb, item.option);
    else if (item.type === 'sub') this.#onSub(item.option, item.payload);
    else if (item.type === 'error') this.#out.events.push({ type: 'ignored', reason: `telnet: ${item.code}` });
  }

  #onNegotiate(verb: Verb, option: number): void {
    const { reply, change } = this.#options.receive(verb, option);
    if (reply) this.#out.replies.push(reply);
    if (change?.option === OPT.COM_PORT && change.side === 'us')
      this.#out.events.push({ type: 'com-port', enabled: change.enabled });
  }

  #onSub(option: number, payload: Uint8Array): void {
    const msg = option === OPT.COM_PORT ? parseComPort(payload) : null;
    if (!msg) return void this.#out.events.push({ type: 'ignored', reason: `sub-negotiation ${option}/${payload[0]}` });
    const { command, value } = msg;
    // RFC 2217 servers send suspend/resume as 108/109; pyserial's own server sends 8/9. Take both.
    if (command === 'FLOWCONTROL-SUSPEND' || command === 'FLOWCONTROL-RESUME') {
      return void this.#out.events.push({ type: command === 'FLOWCONTROL-SUSPEND' ? 'suspend' : 'resume' });
    }
    if (!msg.fromServer)
      return void this.#out.events.push({ type: 'ignored', reason: `client command ${command} from server` });
    if (command === 'NOTIFY-MODEMSTATE' && value !== null) this.#out.events.push({ type: 'modem-state', value });
    else if (command === 'NOTIFY-LINESTATE' && value !== null) this.#out.events.push({ type: 'line-state', value });
    else this.#out.events.push({ type: 'answer', command, value, raw: msg.raw.slice() });
  }
}
