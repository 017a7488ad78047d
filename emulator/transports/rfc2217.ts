/**
 * RFC 2217 transport: the emulated UART served as a telnet COM-PORT-OPTION port, what pyserial
 * `rfc2217://`, esptool and host-lib's `rfc2217://` speak. Unlike the raw TCP port, the host can
 * set baud/data bits/parity/stop bits, flow control, BREAK, and DTR/RTS, and these reach the
 * emulator: each change is reported, and an esptool-style RTS pulse reboots the device.
 *
 * Raw and RFC 2217 must be separate ports: a raw client's 0xFF bytes would be taken as IAC here.
 * One host at a time, as on the raw TCP port; device output while none is attached is dropped.
 */
import type { Socket } from 'node:net';
import { type Duplex, Transform } from 'node:stream';
import { escapeIac } from '../../firmware-protocol/rfc2217.js';
import { type AttachEvents, DeviceOutput } from './device-output.js';
import {
  DEFAULT_SETTINGS,
  type PortChange,
  type PortSettings,
  Rfc2217Session,
  type SessionEvent,
} from './rfc2217-session.js';
import { type OneHostLine, serveLine } from './tcp-listener.js';

/** Options for {@link listenRfc2217}. */
export interface Rfc2217Options extends AttachEvents {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 or omitted picks a free one. */
  port?: number;
  /** Each setting the host changed (only real changes), with all settings now in force. */
  onChange?: (change: PortChange, settings: Readonly<PortSettings>) => void;
  /** The auto-reset circuit let the chip out of reset (esptool's RTS pulse): reboot the device here. */
  onReset?: () => void;
  /** Every session event, including purges, flow suspend/resume and ignored input. */
  onEvent?: (event: SessionEvent) => void;
}

/** A listening RFC 2217 transport. */
export interface Rfc2217Transport {
  readonly port: number;
  /** pyserial-style locator, e.g. `rfc2217://127.0.0.1:41235`. */
  readonly url: string;
  readonly attached: boolean;
  /** The port's current settings (they persist across hosts; DTR/RTS/BREAK drop when a host leaves). */
  readonly settings: Readonly<PortSettings>;
  /** Hangs up on the attached client (like pulling the cable); false when none is attached. */
  dropHost(): boolean;
  /** Disconnects the client, stops listening and releases the UART. Idempotent. */
  close(): Promise<void>;
}

/** One attached host: its telnet session and whether it asked us to hold its data. */
interface Client {
  socket: Socket;
  session: Rfc2217Session;
  decode: Transform;
  peer: string;
  /** Device output held while the host has suspended flow (FLOWCONTROL-SUSPEND). */
  held: Uint8Array[] | null;
}

class Rfc2217Line implements OneHostLine {
  readonly settings: PortSettings = { ...DEFAULT_SETTINGS };
  readonly #uart: Duplex;
  readonly #opts: Rfc2217Options;
  readonly #out: DeviceOutput;
  #client: Client | null = null;

  constructor(uart: Duplex, opts: Rfc2217Options) {
    this.#uart = uart;
    this.#opts = opts;
    this.#out = new DeviceOutput(uart);
  }

  get attached(): boolean {
    return this.#client !== null;
  }

  /** Hangs up on the attached client (like pulling the cable); false when none is attached. */
  dropHost(): boolean {
    const client = this.#client;
    if (!client) return false;
    // The host slot sees the socket close and detaches it, as when the host hangs up itself.
    client.socket.destroy();
    return true;
  }

  close(): void {
    if (this.#client) this.#detach(this.#client);
    this.#out.close();
  }

  attach(socket: Socket): void {
    const session = new Rfc2217Session(this.settings);
    const decode = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        const { data, replies, events } = session.push(chunk);
        for (const reply of replies) socket.write(reply);
        for (const d of data) decode.push(d);
        this.#onEvents(events);
        done();
      },
    });
    const client: Client = {
      socket,
      session,
      decode,
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      held: null,
    };
    this.#client = client;
    socket.setNoDelay(true);
    for (const offer of session.start()) socket.write(offer);
    socket.pipe(decode).pipe(this.#uart, { end: false }); // pipes carry the UART's backpressure to the host
    this.#out.attach((chunk) => this.#toHost(client, chunk));
    socket.on('drain', () => this.#out.resume());
    this.#opts.onAttach?.(client.peer);
  }

  detach(socket: Socket): void {
    if (this.#client?.socket === socket) this.#detach(this.#client);
  }

  #toHost(client: Client, chunk: Uint8Array): boolean {
    if (client.held) {
      client.held.push(chunk);
      return false;
    }
    return client.socket.write(escapeIac(chunk));
  }

  #detach(client: Client): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.socket.unpipe(client.decode);
    client.decode.unpipe(this.#uart);
    this.#out.detach();
    this.#onEvents(client.session.hangUp());
    this.#opts.onDetach?.(client.peer);
  }

  #onEvents(events: SessionEvent[]): void {
    for (const event of events) {
      this.#opts.onEvent?.(event);
      if (event.type === 'change') this.#opts.onChange?.(event.change, this.settings);
      else if (event.type === 'reset') this.#opts.onReset?.();
      else if (event.type === 'suspend') this.#suspend();
      else if (event.type === 'resume') this.#resume();
    }
  }

  #suspend(): void {
    if (this.#client && !this.#client.held) this.#client.held = [];
  }

  #resume(): void {
    const client = this.#client;
    if (!client?.held) return;
    const held = client.held;
    client.held = null;
    for (const chunk of held) client.socket.write(escapeIac(chunk));
    this.#out.resume();
  }
}

/**
 * Serves the emulated UART on an RFC 2217 (telnet COM-PORT-OPTION) port. Resolves once listening.
 *
 * @example
 * ```ts
 * const t = await listenRfc2217(emu.uart, {
 *   port: 0,
 *   onChange: (c) => console.error(`rfc2217: ${c.key} ${c.value}`),
 *   onReset: () => emu.reboot(),
 * });
 * console.log(`listening ${t.url}`);   // listening rfc2217://127.0.0.1:41235
 * ```
 */
export async function listenRfc2217(uart: Duplex, opts: Rfc2217Options = {}): Promise<Rfc2217Transport> {
  const line = new Rfc2217Line(uart, opts);
  const served = await serveLine(line, 'rfc2217', opts);
  return {
    port: served.port,
    url: served.url,
    get attached() {
      return line.attached;
    },
    get settings() {
      return line.settings;
    },
    dropHost: () => line.dropHost(),
    close: () => served.close(),
  };
}
