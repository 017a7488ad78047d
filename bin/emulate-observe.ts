/**
 * What `netcoproc emulate` shows of the board besides its ready lines: log lines on stderr
 * (attach, detach, busy, reboot, faults; `--quiet` keeps only failures, `--verbose` adds every
 * serial exchange decoded), the `--trace FILE.pcapng` recording and the `--ui` live page.
 */
import type { Emulator, FaultEvent } from '../emulator/index.js';
import type { BoardWatch } from '../emulator/observe/board-watch.js';
import type { EmulatorObserver } from '../emulator/observe/observer.js';
import type { EmulatorTrace } from '../emulator/observe/trace.js';
import type { UiServer } from '../emulator/ui/server.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface Log {
  /** Shown unless --quiet: attach, detach, reboot, faults, line changes. */
  info(text: string): void;
  /** Shown with --verbose only: every serial exchange. */
  debug(text: string): void;
  /** Always shown: something failed. */
  error(text: string): void;
}

export function makeLog(v: Verbosity, write: (s: string) => void = (s) => process.stderr.write(s)): Log {
  return {
    info: (text) => (v === 'quiet' ? undefined : write(`${text}\n`)),
    debug: (text) => (v === 'verbose' ? write(`${text}\n`) : undefined),
    error: (text) => write(`${text}\n`),
  };
}

/** --verbose: each SLIP frame or AT line as one decoded log line. */
async function serialPrinter(protocol: 'slip' | 'at', log: Log): Promise<EmulatorObserver> {
  const { SerialDescriber } = await import('../firmware-protocol/trace/describe.js');
  const { recordSplitter } = await import('../firmware-protocol/trace/serial-records.js');
  const describer = new SerialDescriber();
  const split = {
    hostToDevice: recordSplitter(protocol, 'hostToDevice'),
    deviceToHost: recordSplitter(protocol, 'deviceToHost'),
  };
  return {
    serial(dir, chunk) {
      for (const r of split[dir].push(chunk)) log.debug(describer.line(r));
    },
  };
}

export interface ObserveOptions {
  protocol: 'slip' | 'at';
  verbosity?: Verbosity;
  trace?: string;
  /** Serve the live page on this port (0 = any free one); undefined = no page. */
  ui?: number;
  baud?: number;
}

/**
 * The observers of one emulator run, and the lines they say about the host. What a run does not
 * ask for is not even loaded (the page's HTTP server, the trace writer): start-up stays fast.
 */
export class Observation {
  readonly log: Log;
  readonly observers: EmulatorObserver[] = [];
  private ui?: UiServer;
  private readonly transports: string[] = [];

  private constructor(
    private readonly o: ObserveOptions,
    readonly trace: EmulatorTrace | undefined,
    readonly watch: BoardWatch | undefined,
  ) {
    this.log = makeLog(o.verbosity ?? 'normal');
    for (const x of [trace?.observer, watch]) if (x) this.observers.push(x);
    watch?.setLink({ baud: o.baud ?? null });
  }

  static async open(o: ObserveOptions): Promise<Observation> {
    // The trace is opened first, so a path that cannot be written fails before anything starts.
    const traces = o.trace ? await import('../emulator/observe/trace.js') : undefined;
    const trace = o.trace ? traces?.openEmulatorTrace(o.trace, o.protocol) : undefined;
    const Watch = o.ui === undefined ? undefined : (await import('../emulator/observe/board-watch.js')).BoardWatch;
    const seen = new Observation(o, trace, Watch && new Watch({ protocol: o.protocol }));
    if (o.verbosity === 'verbose') seen.observers.push(await serialPrinter(o.protocol, seen.log));
    return seen;
  }

  /** A transport is ready (`listening socket://…`, `pty /dev/pts/5`). */
  transport(text: string): void {
    if (text.startsWith('ui ')) return;
    this.transports.push(text);
    this.watch?.setLink({ transports: [...this.transports] });
  }

  /** `via`: `rfc2217`, `pty`, or the socket:// URL (`socket: host … attached (socket://…)`). */
  attached(peer: string, via: string): void {
    this.say(`${prefix(via)}host ${peer} attached${suffix(via)}`);
    this.watch?.setLink({ host: peer });
  }

  detached(peer: string, via: string): void {
    this.say(`${prefix(via)}host ${peer} detached${suffix(via)}`);
    this.watch?.setLink({ host: null });
  }

  busy(peer: string, via: string): void {
    this.say(`${prefix(via)}busy: host ${peer} turned away${suffix(via)}, another host is attached`);
  }

  /** A fault worth a line; a reboot also says its new boot nonce. */
  fault(e: FaultEvent, text: string | undefined, emu: Emulator | undefined): void {
    if (text) this.log.info(text);
    if (e.kind === 'reboot') {
      // Recorded just before the power cycle: the new nonce exists once this turn of work is done.
      queueMicrotask(() => {
        const p = emu?.personality;
        this.log.info(`reboot${p && 'bootNonce' in p ? `, boot nonce ${hexOf(p.bootNonce)}` : ''}`);
      });
    }
  }

  /** Starts the page once the board and its transports exist; returns its `ui http://…` line. */
  async startUi(emu: Emulator, dropHost: () => boolean): Promise<string | undefined> {
    if (!this.watch || this.o.ui === undefined) return undefined;
    this.watch.bind(emu);
    const { serveUi } = await import('../emulator/ui/server.js');
    const { boardActions } = await import('../emulator/ui/actions.js');
    this.ui = await serveUi({
      port: this.o.ui,
      watch: this.watch,
      actions: boardActions(emu, dropHost),
      onAction: (name) => this.say(`ui: fault ${name}`),
    }).catch((err: Error) => {
      throw new Error(`--ui ${this.o.ui}: ${err.message}`);
    });
    return `ui ${this.ui.url}`;
  }

  async close(): Promise<void> {
    await this.ui?.close();
    this.trace?.close();
  }

  private say(text: string): void {
    this.log.info(text);
    this.trace?.note(text);
    this.watch?.note(text);
  }
}

/** The transport's name first, as `rfc2217: …` lines always were; a socket's URL at the end. */
const prefix = (via: string): string => `${via.startsWith('socket://') ? 'socket' : via}: `;
const suffix = (via: string): string => (via.startsWith('socket://') ? ` (${via})` : '');

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
