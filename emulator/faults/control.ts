/**
 * `emu.faults`: the in-process API to inject a fault at a precise moment, and the runner of a
 * scenario's time- and byte-triggered faults. Everything it does is recorded in one trace.
 *
 * ```ts
 * const emu = createEmulator({ faults: {}, seed: 1 });
 * const dev = await openDevice(emu.uart);
 * emu.faults.corruptNext(1, 'hostToDevice');   // the next host byte arrives damaged
 * emu.faults.hang();                           // requests time out ...
 * emu.faults.resume();                         // ... until the device runs again
 * emu.faults.reboot();                         // dev emits 'reset'; open sockets fail ECONNRESET
 * emu.faults.trace();                          // [{ dir: 'hostToDevice', kind: 'corrupt', offset: 812, ... }, ...]
 * ```
 */
import type { SocketTable } from '../core/socket-table.js';
import type { FaultyLine } from './faulty-line.js';
import type { LineTrigger } from './line-faults.js';
import type { NetFaults } from './net-faults.js';
import {
  type HostFaults,
  LINE_DIRS,
  type LineConfig,
  type LineDir,
  lineConfigFor,
  type ResolvedScenario,
} from './scenario.js';
import type { FaultEvent, FaultKind, FaultTrace } from './trace.js';

/** What device faults need of a personality (SLIP and AT both have these). */
export interface FaultTarget {
  readonly table: SocketTable;
  reboot?: () => void;
}

export interface FaultParts {
  trace: FaultTrace;
  /** The faulty line, when faults are configured (line faults and hang need it). */
  line?: FaultyLine;
  /** The network faults, when faults are configured. */
  net?: NetFaults;
}

export class FaultControl {
  private readonly timers = new Set<NodeJS.Timeout>();
  private outOfSocketsOn = false;
  private outOfMemoryOn = false;

  constructor(
    private readonly target: FaultTarget,
    private readonly parts: FaultParts,
  ) {}

  /** Power-cycles the device now: new boot nonce, every socket gone, a hang ends. */
  reboot(): void {
    this.record({ dir: 'device', kind: 'reboot', source: 'api' });
    this.powerCycle();
  }

  /** The device stops answering (input ignored, output stopped) until resume(), a reboot, or `forMs`. */
  hang(forMs?: number): void {
    this.record({ dir: 'device', kind: 'hang', ...(forMs === undefined ? {} : { ms: forMs }), source: 'api' });
    this.startHang(forMs, 'api');
  }

  resume(): void {
    this.record({ dir: 'device', kind: 'resume', source: 'api' });
    this.needLine('resume').resumeDevice();
  }

  get hung(): boolean {
    return this.parts.line?.hung ?? false;
  }

  /** The next `n` bytes in `dir` are corrupted (XOR with random non-zero masks from the seed). */
  corruptNext(n = 1, dir: LineDir = 'hostToDevice'): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`corruptNext: n must be a positive integer, got ${n}`);
    this.needLine('corruptNext').faults(dir).corruptNext(n);
  }

  /** Nothing moves in `dir` for `ms` from now. */
  stall(dir: LineDir, ms: number): void {
    this.record({ dir, kind: 'stall', ms, source: 'api' });
    this.needLine('stall').stall(dir, ms);
  }

  /** Changes a direction's line faults from now on (fields not given keep their value). */
  setLine(dir: LineDir | 'both', config: LineConfig): void {
    const line = this.needLine('setLine');
    for (const d of dir === 'both' ? LINE_DIRS : [dir]) {
      line.faults(d).configure(config);
      this.scheduleStalls(d, config, 'api');
    }
  }

  /** A direction's current line settings. */
  lineConfig(dir: LineDir): Readonly<LineConfig> {
    return this.needLine('lineConfig').faults(dir).settings;
  }

  /** Resets open TCP connections (all, or to `host`: a name or an address); returns how many. */
  resetConnections(host?: string): number {
    return this.needNet('resetConnections').resetConnections(host);
  }

  /** Sets (merges) one host's network faults; `undefined` clears them. Applies to new connections. */
  setHost(host: string, faults: HostFaults | undefined): void {
    this.needNet('setHost').setHost(host, faults);
  }

  /** While on, socket() and accept() fail with ENFILE. Survives reboots. */
  outOfSockets(on = true): void {
    this.outOfSocketsOn = on;
    this.record({ dir: 'device', kind: 'out-of-sockets', count: on ? 1 : 0, source: 'api' });
    this.applySwitches();
  }

  /** While on, socket() and accept() fail with ENOMEM (wins over outOfSockets). */
  outOfMemory(on = true): void {
    this.outOfMemoryOn = on;
    this.record({ dir: 'device', kind: 'out-of-memory', count: on ? 1 : 0, source: 'api' });
    this.applySwitches();
  }

  /** Every fault injected so far, in order. */
  trace(): FaultEvent[] {
    return this.parts.trace.list();
  }

  /** Faults per kind so far. */
  summary(): Partial<Record<FaultKind, number>> {
    return this.parts.trace.summary();
  }

  /** @internal Starts a scenario's device faults and time-triggered faults (times from now). */
  start(s: ResolvedScenario): void {
    const dev = s.device;
    for (const r of dev?.reboot ?? []) {
      if (r.afterBytes !== undefined)
        this.needLine('reboot')
          .faults(r.dir ?? 'hostToDevice')
          .at(r.afterBytes, { kind: 'reboot' });
      else this.after(r.atMs ?? 0, () => this.timed('reboot', r.atMs, () => this.powerCycle()));
    }
    for (const h of dev?.hang ?? []) {
      const trigger: LineTrigger = { kind: 'hang', ...(h.forMs === undefined ? {} : { forMs: h.forMs }) };
      if (h.afterBytes !== undefined)
        this.needLine('hang')
          .faults(h.dir ?? 'hostToDevice')
          .at(h.afterBytes, trigger);
      else
        this.after(h.atMs ?? 0, () => this.timed('hang', h.atMs, () => this.startHang(h.forMs, 'scenario'), h.forMs));
    }
    if (dev?.outOfSockets || dev?.outOfMemory) {
      this.outOfSocketsOn = dev.outOfSockets ?? false;
      this.outOfMemoryOn = dev.outOfMemory ?? false;
      this.applySwitches();
    }
    if (this.parts.line) for (const d of LINE_DIRS) this.scheduleStalls(d, lineConfigFor(s, d), 'scenario');
  }

  /** @internal A trigger the line reached at its byte offset (already in the trace). */
  readonly runTrigger = (t: LineTrigger): void => {
    if (t.kind === 'reboot') this.powerCycle();
    else if (t.kind === 'hang') this.startHang(t.forMs, 'scenario');
    else if (t.kind === 'call') t.run();
  };

  /** @internal Stops the timers (emulator closing). */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private powerCycle(): void {
    this.parts.line?.powerCycle();
    if (typeof this.target.reboot === 'function') this.target.reboot();
  }

  private startHang(forMs: number | undefined, source: FaultEvent['source']): void {
    const line = this.needLine('hang');
    line.hangDevice();
    if (forMs === undefined) return;
    this.after(forMs, () => {
      if (!line.hung) return;
      this.record({ dir: 'device', kind: 'resume', source });
      line.resumeDevice();
    });
  }

  private scheduleStalls(dir: LineDir, config: LineConfig, source: FaultEvent['source']): void {
    for (const st of config.stalls ?? []) {
      if (st.atMs === undefined) continue;
      const atMs = st.atMs;
      this.after(atMs, () => {
        this.record({ dir, kind: 'stall', ms: st.forMs, atMs, source });
        this.parts.line?.stall(dir, st.forMs);
      });
    }
  }

  private timed(kind: FaultKind, atMs: number | undefined, run: () => void, ms?: number): void {
    this.record({
      dir: 'device',
      kind,
      ...(atMs === undefined ? {} : { atMs }),
      ...(ms === undefined ? {} : { ms }),
      source: 'scenario',
    });
    run();
  }

  private after(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private applySwitches(): void {
    this.target.table.exhausted = this.outOfMemoryOn ? 'ENOMEM' : this.outOfSocketsOn ? 'ENFILE' : undefined;
  }

  private record(e: FaultEvent): void {
    this.parts.trace.record(e);
  }

  private needLine(what: string): FaultyLine {
    if (!this.parts.line) throw new Error(`faults.${what}() needs a faulty line: createEmulator({ faults: {} })`);
    return this.parts.line;
  }

  private needNet(what: string): NetFaults {
    if (!this.parts.net) throw new Error(`faults.${what}() needs network faults: createEmulator({ faults: {} })`);
    return this.parts.net;
  }
}
