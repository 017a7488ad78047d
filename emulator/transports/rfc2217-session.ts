/**
 * The server side of one RFC 2217 connection as a pure push state machine: wire bytes from the
 * host in → data bytes for the UART, replies for the host, and port events (settings changed,
 * purge, reset). No I/O; the listener (`rfc2217.ts`) does the sockets.
 *
 * Every COM-PORT command is answered with its code + 100 and the value now in force, as pyserial
 * and RFC 2217 expect: a value we cannot take is answered with the current one, which the client
 * reads as a refusal. DTR/RTS drive a model of the ESP32 dev-board auto-reset circuit.
 */
import {
  CONTROL,
  type ComPortCommand,
  type ComPortMessage,
  encodeComPort,
  fromCode,
  MODEMSTATE,
  TELNET_OPTIONS as OPT,
  PARITY_CODES,
  type Parity,
  PURGE_CODES,
  type PurgeTarget,
  parseComPort,
  STOPSIZE_CODES,
  type StopBits,
  TelnetDecoder,
  type TelnetItem,
  TelnetNegotiator,
  toCode,
} from '../../firmware-protocol/rfc2217.js';

export type FlowControl = 'none' | 'xonxoff' | 'hardware';

/** The emulated port's line settings and control lines, as the host last set them. */
export interface PortSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: Parity;
  stopBits: StopBits;
  flowControl: FlowControl;
  dtr: boolean;
  rts: boolean;
  break: boolean;
}

/** A port at power-up: 115200 8N1, no flow control, lines released (no host has opened it). */
export const DEFAULT_SETTINGS: Readonly<PortSettings> = Object.freeze({
  baudRate: 115200,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
  flowControl: 'none',
  dtr: false,
  rts: false,
  break: false,
});

/** One setting that changed, e.g. `{ key: 'baudRate', value: 921600 }`. */
export type PortChange = { [K in keyof PortSettings]: { key: K; value: PortSettings[K] } }[keyof PortSettings];

export type SessionEvent =
  | { type: 'change'; change: PortChange }
  /** The auto-reset circuit released EN: the chip boots again. */
  | { type: 'reset' }
  | { type: 'purge'; target: PurgeTarget }
  /** The host asks us to stop / restart sending it data (FLOWCONTROL-SUSPEND / -RESUME). */
  | { type: 'suspend' }
  | { type: 'resume' }
  /** The host agreed to COM-PORT-OPTION (it sent WILL 44 and we answered DO). */
  | { type: 'com-port' }
  /** Input we did not act on (unknown option or value, malformed sub-negotiation). */
  | { type: 'ignored'; reason: string };

export interface SessionOutput {
  /** Host bytes for the UART (IAC doubling already undone). May alias the pushed chunk. */
  data: Uint8Array[];
  /** Telnet bytes to send the host, in order. */
  replies: Uint8Array[];
  events: SessionEvent[];
}

/** Sent in answer to an empty SIGNATURE request. */
export const SIGNATURE = 'netcoproc emulator';

/**
 * The ESP32 dev-board auto-reset circuit (two transistors, as esptool assumes): EN is pulled low
 * only while RTS is asserted and DTR is not; IO0 only while DTR is asserted and RTS is not.
 * Both asserted or both released leaves the chip running, so opening a port (DTR on, then RTS on,
 * as pyserial and Linux do) does not reset it.
 */
export function chipEnabled(s: Pick<PortSettings, 'dtr' | 'rts'>): boolean {
  return !(s.rts && !s.dtr);
}

const FLOW_CODES: readonly (readonly [FlowControl, number])[] = [
  ['none', CONTROL.FLOW_NONE],
  ['xonxoff', CONTROL.FLOW_XONXOFF],
  ['hardware', CONTROL.FLOW_HARDWARE],
];
/** SET-CONTROL values that set a line: [line, value it sets]. */
const LINE_CODES: ReadonlyMap<number, readonly ['dtr' | 'rts' | 'break', boolean]> = new Map([
  [CONTROL.BREAK_ON, ['break', true]],
  [CONTROL.BREAK_OFF, ['break', false]],
  [CONTROL.DTR_ON, ['dtr', true]],
  [CONTROL.DTR_OFF, ['dtr', false]],
  [CONTROL.RTS_ON, ['rts', true]],
  [CONTROL.RTS_OFF, ['rts', false]],
]);
/** SET-CONTROL queries: value → how to answer it from the settings. */
const CONTROL_QUERIES: ReadonlyMap<number, (s: PortSettings) => number> = new Map([
  [CONTROL.REQ_FLOW, (s: PortSettings) => toCode(FLOW_CODES, s.flowControl)],
  [CONTROL.REQ_BREAK, (s: PortSettings) => (s.break ? CONTROL.BREAK_ON : CONTROL.BREAK_OFF)],
  [CONTROL.REQ_DTR, (s: PortSettings) => (s.dtr ? CONTROL.DTR_ON : CONTROL.DTR_OFF)],
  [CONTROL.REQ_RTS, (s: PortSettings) => (s.rts ? CONTROL.RTS_ON : CONTROL.RTS_OFF)],
  [13, () => 14], // inbound flow control: we have none
]);
/** Inbound/DCD/DSR flow-control variants (14–19): acknowledged, not modelled. */
const ACCEPTED_CONTROL = new Set([14, 15, 16, 17, 18, 19]);

/**
 * ```ts
 * const session = new Rfc2217Session();
 * socket.write(concat(session.start()));            // IAC DO BINARY, IAC WILL BINARY
 * const { data, replies, events } = session.push(chunk);
 * ```
 */
export class Rfc2217Session {
  readonly #decoder = new TelnetDecoder();
  readonly #options = new TelnetNegotiator({
    us: [OPT.BINARY, OPT.SGA, OPT.COM_PORT],
    him: [OPT.BINARY, OPT.SGA, OPT.COM_PORT],
  });
  readonly #settings: PortSettings;
  /** Lines the device drives towards the host: a powered board with a ready USB-UART. */
  readonly #modemState = MODEMSTATE.CTS | MODEMSTATE.DSR;
  #modemMask = 0xff;
  #out: SessionOutput = { data: [], replies: [], events: [] };

  /** @param settings the port's state, shared across sessions (a port keeps its baud between hosts). */
  constructor(settings: PortSettings = { ...DEFAULT_SETTINGS }) {
    this.#settings = settings;
  }

  get settings(): Readonly<PortSettings> {
    return this.#settings;
  }

  /** What the server sends on connect: it offers an 8-bit clean (BINARY) path both ways. */
  start(): Uint8Array[] {
    return [this.#options.request('him', OPT.BINARY), this.#options.request('us', OPT.BINARY)].filter(
      (b) => b !== null,
    );
  }

  push(chunk: Uint8Array): SessionOutput {
    this.#out = { data: [], replies: [], events: [] };
    for (const item of this.#decoder.push(chunk)) this.#onItem(item);
    return this.#out;
  }

  /** The host went away: its modem lines drop, like closing a tty with HUPCL (may release a held reset). */
  hangUp(): SessionEvent[] {
    this.#out = { data: [], replies: [], events: [] };
    this.#setLine('break', false);
    this.#setLines({ dtr: false, rts: false });
    return this.#out.events;
  }

  #onItem(item: TelnetItem): void {
    if (item.type === 'data') this.#out.data.push(item.data);
    else if (item.type === 'negotiate') this.#onNegotiate(item.verb, item.option);
    else if (item.type === 'sub') this.#onSub(item.option, item.payload);
    else if (item.type === 'error') this.#ignore(`telnet: ${item.code}`);
    // Other telnet commands (NOP, AYT, BRK, ...) carry nothing for a serial port.
  }

  #onNegotiate(verb: 'WILL' | 'WONT' | 'DO' | 'DONT', option: number): void {
    const { reply, change } = this.#options.receive(verb, option);
    if (reply) this.#out.replies.push(reply);
    if (change?.option === OPT.COM_PORT && change.side === 'him' && change.enabled) {
      this.#out.events.push({ type: 'com-port' });
      // pyserial reads CTS/DSR from the last notification and fails if none ever came.
      this.#notifyModemState();
    }
  }

  #onSub(option: number, payload: Uint8Array): void {
    const msg = option === OPT.COM_PORT ? parseComPort(payload) : null;
    if (!msg || msg.fromServer) return void this.#ignore(`sub-negotiation ${option}/${payload[0]}`);
    Rfc2217Session.#handlers[msg.command](this, msg);
  }

  #reply(command: ComPortCommand, value: number | Uint8Array | null): void {
    this.#out.replies.push(encodeComPort(command, value, true));
  }

  #ignore(reason: string): void {
    this.#out.events.push({ type: 'ignored', reason });
  }

  #notifyModemState(): void {
    this.#reply('NOTIFY-MODEMSTATE', this.#modemState & this.#modemMask);
  }

  /** Applies a setting (when it differs) and answers with the value now in force. */
  #setting<K extends 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>(
    command: ComPortCommand,
    key: K,
    value: PortSettings[K] | undefined,
    answer: (v: PortSettings[K]) => number,
  ): void {
    if (value !== undefined) this.#set(key, value);
    this.#reply(command, answer(this.#settings[key]));
  }

  #set<K extends keyof PortSettings>(key: K, value: PortSettings[K]): void {
    if (this.#settings[key] === value) return;
    this.#settings[key] = value;
    this.#out.events.push({ type: 'change', change: { key, value } as PortChange });
  }

  #setLine(line: 'dtr' | 'rts' | 'break', on: boolean): void {
    if (line === 'break') this.#set('break', on);
    else this.#setLines({ [line]: on });
  }

  /** Changes DTR/RTS and runs the auto-reset circuit: EN rising = the chip leaves reset. */
  #setLines(lines: Partial<Pick<PortSettings, 'dtr' | 'rts'>>): void {
    const before = chipEnabled(this.#settings);
    if (lines.dtr !== undefined) this.#set('dtr', lines.dtr);
    if (lines.rts !== undefined) this.#set('rts', lines.rts);
    if (!before && chipEnabled(this.#settings)) this.#out.events.push({ type: 'reset' });
  }

  #control(value: number | null): void {
    if (value === null) return void this.#ignore('SET-CONTROL without a value');
    const flow = fromCode(FLOW_CODES, value);
    const line = LINE_CODES.get(value);
    const query = CONTROL_QUERIES.get(value);
    if (flow) this.#set('flowControl', flow);
    else if (line) this.#setLine(line[0], line[1]);
    else if (query) return void this.#reply('SET-CONTROL', query(this.#settings));
    else if (!ACCEPTED_CONTROL.has(value)) return void this.#ignore(`SET-CONTROL ${value}`);
    this.#reply('SET-CONTROL', value);
  }

  #purge(value: number | null): void {
    const target = (Object.keys(PURGE_CODES) as PurgeTarget[]).find((t) => PURGE_CODES[t] === value);
    if (!target) return void this.#ignore(`PURGE-DATA ${value}`);
    this.#out.events.push({ type: 'purge', target });
    this.#reply('PURGE-DATA', value);
  }

  /** One entry per COM-PORT command; see RFC 2217 §3 for each. */
  static readonly #handlers: Record<ComPortCommand, (s: Rfc2217Session, m: ComPortMessage) => void> = {
    SIGNATURE: (s, m) => {
      // An empty SIGNATURE asks for ours; a non-empty one is the client's, which needs no answer.
      if (m.raw.length === 0) s.#reply('SIGNATURE', new TextEncoder().encode(SIGNATURE));
    },
    'SET-BAUDRATE': (s, m) => s.#setting('SET-BAUDRATE', 'baudRate', m.value || undefined, (v) => v),
    'SET-DATASIZE': (s, m) => s.#setting('SET-DATASIZE', 'dataBits', dataBits(m.value), (v) => v),
    'SET-PARITY': (s, m) =>
      s.#setting('SET-PARITY', 'parity', fromCode(PARITY_CODES, m.value ?? 0), (v) => toCode(PARITY_CODES, v)),
    'SET-STOPSIZE': (s, m) =>
      s.#setting('SET-STOPSIZE', 'stopBits', fromCode(STOPSIZE_CODES, m.value ?? 0), (v) => toCode(STOPSIZE_CODES, v)),
    'SET-CONTROL': (s, m) => s.#control(m.value),
    // No line errors on an emulated wire: report a clean line state.
    'NOTIFY-LINESTATE': (s) => s.#reply('NOTIFY-LINESTATE', 0),
    'NOTIFY-MODEMSTATE': (s) => s.#notifyModemState(),
    'FLOWCONTROL-SUSPEND': (s) => s.#out.events.push({ type: 'suspend' }),
    'FLOWCONTROL-RESUME': (s) => s.#out.events.push({ type: 'resume' }),
    'SET-LINESTATE-MASK': (s, m) => s.#reply('SET-LINESTATE-MASK', m.value ?? 0),
    'SET-MODEMSTATE-MASK': (s, m) => {
      s.#modemMask = m.value ?? 0xff;
      s.#reply('SET-MODEMSTATE-MASK', s.#modemMask);
    },
    'PURGE-DATA': (s, m) => s.#purge(m.value),
  };
}

function dataBits(v: number | null): PortSettings['dataBits'] | undefined {
  return v === 5 || v === 6 || v === 7 || v === 8 ? v : undefined;
}
