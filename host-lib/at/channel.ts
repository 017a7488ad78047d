/**
 * The command channel: one AT command in flight at a time over the transport, its reply lines
 * paired strictly with it, everything else handed to the URC reducer the moment it is parsed.
 *
 * Pairing rule: a message is part of the running command's reply only if its type is a reply
 * type (`OK`, `ERROR`, `>`, `Recv N bytes`, `SEND OK`, `+CIPRECVDATA`, …) or it is an info line
 * whose prefix the command table lists for that command's form. `+IPD`, `<id>,CONNECT`,
 * `<id>,CLOSED`, `WIFI …`, `ready`, unexpected `+XYZ:` lines and unknown text are URCs, even
 * when they arrive between `>` and `Recv 5 bytes`, or glued to an `OK` in one chunk:
 *
 * ```text
 * H: AT+CIPSEND=0,8\r\n        D: \r\nOK\r\n\r\n>\r\n+IPD,0,5\r\n     ← +IPD goes to the reducer
 * H: <8 payload bytes>         D: \r\nRecv 8 bytes\r\n\r\nSEND OK\r\n ← reply completes
 * ```
 *
 * Deadlines come from the command table (`AT_COMMANDS[name].timeoutMs`). `busy p...` means the
 * line was dropped: it is resent after a backoff, a bounded number of times; any reply line
 * that arrives during the backoff wins (the "busy" was stray and the command runs, issue
 * esp-at#731). `SEND FAIL` is final only when no `SEND OK` for the same send follows within
 * `sendFailGraceMs` (ESP8266_NONOS_SDK#60: the firmware retried, and the bytes went out). After
 * a timeout the next command is preceded by a resync (`AT+CIPMUX?`, accepted only with its
 * `+CIPMUX:` line) so a late reply is never paired with a newer command.
 */
import type { Duplex } from 'node:stream';
import { at } from '../../firmware-protocol/index.js';
import { type AtChannelOptions, type AtCommand, type AtJob, type AtReply, isBusyCode, URC_TYPES } from './command.js';
import { type AtFailure, atOSError } from './errno-map.js';
import { Flight, type FlightHost } from './flight.js';

export { type AtChannelOptions, type AtCommand, type AtJob, type AtReply, infoLines } from './command.js';

type AtMessage = at.AtMessage;

/** The liveness probe written beside a running command. */
const PROBE_LINE = new TextEncoder().encode('AT\r\n');

const SYNC: AtCommand = {
  name: 'CIPMUX',
  form: 'query',
  needLine: (m) => m.type === 'info' && m.prefix === '+CIPMUX',
  timeoutMs: 2_000,
  context: 'sync',
};

/**
 * @example
 * const ch = new AtChannel(transport, { onUrc: (m) => table.apply(m) });
 * const reply = await ch.run({ name: 'CIPDOMAIN', form: 'set', params: ['echo.test'] });
 * infoLines(reply, '+CIPDOMAIN')[0].fields[0]; // '10.77.0.7'
 */
export class AtChannel {
  readonly parser = new at.AtResponseParser({ maxDataLength: 1 << 20 });
  /** AT+CIPMUX mode, for encoding the `[<link_id>,]` forms. */
  mux: 0 | 1 = 0;
  private readonly queue: AtJob[] = [];
  private current: Flight | null = null;
  private holding = false;
  private lastWasQueued = false;
  private desynced = false;
  private latePayload: Uint8Array | null = null;
  private closed: AtFailure | null = null;
  /** Set while failAll runs, so finishing one command does not start the next. */
  private failing = false;
  /**
   * Set while a chunk is being parsed. The next command is written only after the whole chunk
   * is handled: bytes that arrived before a command was sent can never be its reply.
   */
  private feeding = false;
  private pumpWanted = false;
  /** When the device last sent a byte (a busy resend waits for a quiet line). */
  private lastInputAt = 0;
  /**
   * When the device last made sense: a message parsed, or payload bytes counted. An endless
   * line or garbage moves bytes but not this (liveness.ts).
   */
  lastProgressAt = Date.now();
  /** A bare `AT` went out beside the running command; its answer (`busy p...` or `OK`) is due. */
  private probeAnswerDue = false;
  /** Set while the module is declared lost: everything but start-up commands fails at once. */
  private suspended: AtFailure | null = null;
  /** A command that must run next (the one a resync was run for). */
  private next: AtJob | null = null;

  /** What the command in flight may ask of the channel (flight.ts). */
  private readonly flightHost: FlightHost;

  constructor(
    private readonly transport: Duplex,
    private readonly opts: AtChannelOptions,
  ) {
    this.flightHost = {
      busyRetries: opts.busyRetries ?? 8,
      busyBackoffMs: opts.busyBackoffMs ?? 100,
      sendFailGraceMs: opts.sendFailGraceMs ?? 500,
      write: (bytes) => this.transport.write(bytes),
      ended: (f, failure) => this.finish(f, failure),
      strayPrompt: () => this.onStrayReply({ type: 'prompt' }),
      desync: () => {
        this.desynced = true;
      },
      lostPrompt: (payload) => {
        this.latePayload = payload;
      },
      quietMs: () => Date.now() - this.lastInputAt,
      partialInput: () => this.parser.bufferedBytes > 0,
      delivered: (bytes, ms) => opts.onDelivered?.(bytes, ms),
    };
  }

  /** Queues a command; resolves with its reply lines, rejects with OSError (errno-map.ts). */
  run(cmd: AtCommand, hooks: Pick<AtJob, 'onLine'> = {}): Promise<AtReply> {
    return new Promise((resolve, reject) => {
      const refusal = this.closed ?? (cmd.init ? null : this.suspended);
      if (refusal) return reject(atOSError(cmd.context ?? cmd.name, refusal));
      this.queue.push({ cmd, resolve, reject, ...hooks });
      this.pump();
    });
  }

  /** Whether the transport is gone (every command fails at once). */
  get isClosed(): boolean {
    return this.closed !== null;
  }

  /** While held, only `init` commands run (start-up after a reboot). */
  hold(on: boolean): void {
    this.holding = on;
    if (!on) this.pump();
  }

  /** Starts the next piece of work if the channel is free (call after new background work appears). */
  kick(): void {
    this.pump();
  }

  /** Whether nothing runs or waits (a liveness probe may go out as a command). */
  get isIdle(): boolean {
    return !this.current && !this.next && this.queue.length === 0;
  }

  /**
   * Declares the module lost (`failure`), or found again (null): while lost, every command but
   * start-up ones fails at once, and the parser forgets any half-read line or payload.
   */
  suspend(failure: AtFailure | null): void {
    this.suspended = failure;
    if (!failure) return;
    this.parser.reset();
    this.probeAnswerDue = false;
    this.failAll(failure);
  }

  /**
   * Liveness beside a running command: writes a bare `AT\r\n`, which a live module answers at
   * once with `busy p...` (esp-at.md §1: input during a command is refused, not queued), or
   * with `OK` if the command ended meanwhile. Refused (false) with no command running, and while
   * a CIPSEND waits for its `>` or has not confirmed its payload (`Recv N bytes`): there the
   * probe would become payload bytes.
   */
  probeBeside(): boolean {
    const f = this.current;
    if (!f || this.probeAnswerDue) return false;
    if (f.prompt && !f.replies.some((m) => m.type === 'recv')) return false;
    this.probeAnswerDue = true;
    this.transport.write(PROBE_LINE);
    return true;
  }

  /** Payload bytes of the command in flight (a CIPSEND): the module is silent while they cross the line. */
  get payloadInFlight(): number {
    return this.current?.payloadBytes ?? 0;
  }

  /** When the device last sent any byte (ms epoch; 0 = never). */
  get lastInput(): number {
    return this.lastInputAt;
  }

  /** Bytes straight onto the line, outside any command (start-up recovery, unwedge.ts). */
  writeRaw(bytes: Uint8Array): void {
    if (!this.closed) this.transport.write(bytes);
  }

  /** Feeds device bytes; every parsed message is paired or handed on, in order. */
  feed(chunk: Uint8Array): void {
    this.lastInputAt = Date.now();
    this.feeding = true;
    try {
      for (const m of this.parser.feed(chunk)) {
        if (m.type !== 'overflow') this.lastProgressAt = this.lastInputAt;
        this.onMessage(m);
      }
      if (this.parser.state === 'data') this.lastProgressAt = this.lastInputAt;
    } finally {
      this.feeding = false;
    }
    if (this.pumpWanted) {
      this.pumpWanted = false;
      this.pump();
    }
  }

  /** Fails the command in flight and every queued one (device restarted, transport gone). */
  failAll(failure: AtFailure): void {
    const queued = this.queue.splice(0);
    if (this.next) queued.unshift(this.next);
    this.next = null;
    const f = this.current;
    this.failing = true;
    if (f) this.finish(f, failure);
    for (const job of queued) job.reject(atOSError(job.cmd.context ?? job.cmd.name, failure));
    this.failing = false;
    this.latePayload = null;
    this.desynced = false;
  }

  /** Fails everything now and later (the transport is gone). */
  close(detail: string): void {
    if (this.closed) return;
    this.closed = { kind: 'link-closed', detail };
    this.failAll(this.closed);
  }

  private pump(): void {
    if (this.current || this.closed || this.failing) return;
    if (this.feeding) {
      this.pumpWanted = true;
      return;
    }
    const job = this.pick();
    if (job) this.start(job);
  }

  /** Queued commands and background work take turns, so neither starves the other. */
  private pick(): AtJob | undefined {
    if (this.next && (!this.holding || this.next.cmd.init)) {
      const job = this.next;
      this.next = null;
      return job;
    }
    if (this.holding) {
      const i = this.queue.findIndex((j) => j.cmd.init);
      return i < 0 ? undefined : this.queue.splice(i, 1)[0];
    }
    const background = (): AtJob | undefined => this.opts.background?.();
    if (this.lastWasQueued) {
      const bg = background();
      if (bg) return this.took(bg, false);
    }
    const queued = this.queue.shift();
    if (queued) return this.took(queued, true);
    const bg = background();
    return bg && this.took(bg, false);
  }

  private took(job: AtJob, queued: boolean): AtJob {
    this.lastWasQueued = queued;
    return job;
  }

  private start(job: AtJob): void {
    if (job.cmd.cancelled?.()) {
      job.reject(atOSError(job.cmd.context ?? job.cmd.name, { kind: 'cancelled' }));
      this.pump();
      return;
    }
    if (this.desynced && !job.cmd.init) {
      this.resyncThen(job);
      return;
    }
    let line: Uint8Array;
    try {
      line = at.encodeCommand(job.cmd.name, job.cmd.form, job.cmd.params ?? [], { mux: this.mux });
    } catch (err) {
      job.reject(err as Error); // AtEncodeError (a TypeError naming the parameter)
      this.pump();
      return;
    }
    const spec: at.CommandSpec = at.AT_COMMANDS[job.cmd.name];
    const f = new Flight(job, line, spec.forms[job.cmd.form], spec.timeoutMs, this.flightHost);
    this.current = f;
    f.start();
  }

  /** After a timeout: prove the line is in step again before the next command runs. */
  private resyncThen(job: AtJob): void {
    this.desynced = false;
    const sync: AtJob = {
      cmd: SYNC,
      resolve: () => {
        this.next = job;
        this.pump();
      },
      reject: (err) => {
        this.desynced = true;
        job.reject(err);
      },
    };
    this.start(sync);
  }

  private onMessage(m: AtMessage): void {
    const f = this.current;
    if (m.type === 'echo') return; // ATE1: our own line coming back
    if (URC_TYPES.has(m.type) || (m.type === 'info' && !f?.expects.has(m.prefix))) {
      this.opts.onUrc(m);
      return;
    }
    if (f && m.type === 'busy' && this.probeAnswerDue) {
      // The probe's answer (it came while the command ran), not the command's line refused.
      this.probeAnswerDue = false;
      f.replies = f.replies.filter((r) => !isBusyCode(r));
    } else if (f) f.reply(m);
    else this.onStrayReply(m);
  }

  private onStrayReply(m: AtMessage): void {
    // A CIPSEND that timed out before its prompt may still get one: the device now waits for
    // exactly that payload, and anything else we wrote would be swallowed as data.
    if (m.type === 'prompt' && this.latePayload) {
      this.transport.write(this.latePayload);
      this.latePayload = null;
      return;
    }
    this.opts.onStray?.(m);
  }

  private finish(f: Flight, failure: AtFailure | null): void {
    if (this.current !== f) return;
    f.stop();
    this.current = null;
    if (this.probeAnswerDue) {
      // The probe met no running command: its `OK` is still to come, and must meet the resync
      // probe rather than pass for the next command's result.
      this.probeAnswerDue = false;
      this.desynced = true;
    }
    if (failure) f.job.reject(atOSError(f.context, failure));
    else f.job.resolve({ lines: f.replies });
    this.pump();
  }
}
