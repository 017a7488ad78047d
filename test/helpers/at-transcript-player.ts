/**
 * A transcript player: the device side of an esp-at.md §5 transcript (fixtures/at/*.json), as a
 * Duplex a host driver opens like a serial link. It answers the driver's own start-up generically
 * (a v3.4 board, at-transcript-board.ts), then, once `begin()` is called, requires each command
 * the driver writes to match the transcript's next `host` step and answers with the transcript's
 * `device` bytes, rewritten for the mode the driver put the board in. A command that matches
 * neither the transcript nor the board's short list of own answers fails with a readable diff.
 *
 * ```ts
 * const player = new TranscriptPlayer(loadTranscript('tcp-client'), { variant: 'driver', split: 'bytes' });
 * const dev = await openDevice(player, { protocol: 'at' });
 * player.begin();
 * await player.guard(scenario(dev));   // rejects with the player's diff if the driver strayed
 * await player.done();                 // every transcript step was played
 * ```
 *
 * Tolerances — each one applied is recorded in `tolerances`, and tests list the ones they expect:
 * - `start-up`: the transcript's mode commands (ATE0, AT+SYSLOG=1, AT+CIPMUX=1, AT+CIPDINFO=1,
 *   passive receive) are written by the driver's start-up, before the transcript begins; the
 *   board's reply to them must equal the transcript's.
 * - `start-up-equivalent`: the start-up reached the same state differently: AT+CIPMUX=1 not
 *   needed (the board was in MUX=1), or `AT+CIPRECVTYPE=5,1` (all links) for the transcript's
 *   per-connection `AT+CIPRECVTYPE=1`.
 * - `mux0-forms`: the driver always runs AT+CIPMUX=1, so a MUX=0 transcript's `AT+CIPSEND=4` is
 *   `AT+CIPSEND=<id>,4`, `AT+CIPCLOSE` is `AT+CIPCLOSE=<id>`, and the device's `CONNECT`,
 *   `CLOSED`, `+IPD,<len>` become `<id>,CONNECT`, `<id>,CLOSED`, `+IPD,<id>,<len>`.
 * - `link-id`: the driver picks its own link ids (least recently used, highest first); the
 *   transcript's id is mapped to it everywhere. Ids of accepted clients are the board's (lowest free).
 * - receive mode (always, not recorded): data the transcript shows as `+IPD` is rendered in the
 *   mode the driver chose for that link (passive notice + AT+CIPRECVDATA, or active `+IPD`), with
 *   the remote address when AT+CIPDINFO=1 is on; reads (AT+CIPRECVDATA, AT+CIPRECVLEN?) are
 *   answered from what the transcript delivered, at whatever moment the driver reads.
 * - per command (RULES in at-transcript-script.ts): `udp-mode-2`, `no-keep-alive`, `resolved-host`,
 *   `udp-send-to-remote`, `ssl-zero-numbers`, `server-close-all`, `read-size`.
 * - marked variables the driver chooses (`free`, e.g. a UDP local port) take the value it writes,
 *   and must keep it; the others are the values the test passes to the API (documented examples).
 * - per scenario (`adapt`): `dropped` (a host step no API produces, with its reply) and
 *   `substitute` (the transcript's reply played to another command), each with a reason.
 */
import { Duplex } from 'node:stream';
import type { Transcript } from '../../fixtures/at/transcripts.js';
import { Board, DEFAULT_BOARD, type Phase } from './at-transcript-board.js';
import {
  type Cmd,
  type Entry,
  matchCommand,
  type PlayOptions,
  parse,
  prepareScript,
  type StartupCheck,
  show,
  type Token,
  tokenize,
} from './at-transcript-script.js';

export type { Adaptation, PlayOptions, Split, Variant } from './at-transcript-script.js';

const ODD = [2, 5, 1, 3, 7, 4];

export class TranscriptPlayer extends Duplex {
  readonly board: Board;
  /** The tolerances applied so far (see the file comment). */
  readonly tolerances = new Set<string>();
  /** Every line (and payload) the driver wrote. */
  readonly hostLines: string[] = [];
  private readonly entries: Entry[];
  private readonly checks: StartupCheck[];
  private readonly startupLog: { line: string; reply: string }[] = [];
  private readonly bindings = new Map<string, number>();
  /** Values of free variables, as the driver wrote them. */
  readonly captured = new Map<string, string>();
  private readonly names: Readonly<Record<string, string>>;
  private boot: string | null;
  private phase: Phase = 'startup';
  private cursor = 0;
  private input = '';
  private payloadBytes: number | null = null;
  private peerData = '';
  private pending = '';
  private sending: Promise<void> = Promise.resolve();
  private oddAt = 0;
  private failure: Error | null = null;
  private rejectFailed: (err: Error) => void = () => {};
  private readonly failed = new Promise<never>((_, reject) => {
    this.rejectFailed = reject;
  });

  constructor(
    readonly transcript: Transcript,
    private readonly opts: PlayOptions,
  ) {
    super();
    this.failed.catch(() => {});
    const uses = (name: string) =>
      [...transcript.setup, ...transcript.steps].some((s) => 'host' in s && s.host.startsWith(`AT+${name}=1`));
    const literal = opts.variant === 'literal';
    this.board = new Board({
      ...DEFAULT_BOARD,
      mux: transcript.board.mux,
      joined: transcript.board.joinedAtBoot ? DEFAULT_BOARD.joined : null,
      ...(literal ? { passiveReceive: false, remoteInfo: uses('CIPDINFO') } : {}),
      ...opts.board,
    });
    this.names = this.board.opts.names;
    const script = prepareScript(transcript, opts);
    [this.entries, this.checks, this.boot] = [script.entries, script.checks, script.boot];
    for (const tol of script.tolerances) this.tolerances.add(tol);
  }

  /** The transcript starts: the driver's start-up (and any prologue) is over. */
  begin(): void {
    this.verifyStartup();
    this.phase = 'transcript';
    this.attempt(() => this.say(this.playDevice(false, null)));
    this.flush();
  }

  /** `p`, or the player's diff if the driver strayed from the transcript first. */
  async guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await Promise.race([p, this.failed]);
    } catch (err) {
      throw this.failure ?? err;
    }
  }

  /** Resolves when every transcript step was played; rejects with the first mismatch. */
  async done(timeoutMs = 300): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.failure && this.cursor < this.entries.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.sending;
    if (this.failure) throw this.failure;
    const next = this.entries[this.cursor];
    if (next)
      this.fail(
        `stalled: the transcript expects the driver to write ${show(next.kind === 'host' ? next.text : next)} (${this.where(next)})`,
      );
    if (this.failure) throw this.failure;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.input += chunk.toString('latin1');
    this.attempt(() => this.consume());
    this.flush();
    cb();
  }

  /** The transcript's start-up steps: sent by the driver's start-up with the same reply, or their state reached. */
  private verifyStartup(): void {
    for (const c of this.checks) {
      const logged = this.startupLog.find((l) => l.line === c.text);
      if (logged) {
        if (c.reply !== null && logged.reply !== c.reply) {
          this.fail(
            `start-up: the board answered ${show(c.text)} with ${show(logged.reply)}; the transcript (${c.label}) with ${show(c.reply)}`,
          );
        }
        this.tolerances.add('start-up');
      } else if (
        (c.cmd.name === 'CIPMUX' && this.board.mux === 1) ||
        (['CIPRECVTYPE', 'CIPRECVMODE'].includes(c.cmd.name) && c.cmd.args.mode === 1 && this.board.passiveAll)
      ) {
        this.tolerances.add('start-up-equivalent');
      } else {
        const wrote = this.startupLog.map((l) => l.line);
        this.fail(
          `the transcript's ${c.label} ${show(c.text)} was not sent by the driver's start-up (it wrote ${show(wrote)})`,
        );
      }
    }
  }

  // ---- host bytes ----
  private consume(): void {
    while (!this.failure) {
      if (this.payloadBytes !== null) {
        if (this.input.length < this.payloadBytes) return;
        const data = this.input.slice(0, this.payloadBytes);
        this.input = this.input.slice(this.payloadBytes);
        this.payloadBytes = null;
        this.onPayload(data);
        continue;
      }
      const nl = this.input.indexOf('\r\n');
      if (nl < 0) return;
      const line = this.input.slice(0, nl + 2);
      this.input = this.input.slice(nl + 2);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    this.hostLines.push(line);
    if (this.boot !== null) {
      this.say(this.boot); // still booting: this line is lost, then the banner
      this.boot = null;
      return;
    }
    const echo = this.board.echo ? line : '';
    const cmd = parse(line, this.board.mux, 'the driver wrote a line the command table rejects');
    const entry = this.entries[this.cursor];
    let why = '';
    if (this.phase === 'transcript' && entry?.kind === 'host' && entry.cmd) {
      const m = matchCommand({ ...entry, cmd: entry.cmd }, cmd, {
        board: this.board,
        names: this.names,
        bound: (k) => this.bindings.get(k),
        captured: (n) => this.captured.get(n),
      });
      if (m.ok) {
        this.cursor++;
        if (m.bind) this.bindings.set(...m.bind);
        for (const [name, value] of m.captures) this.captured.set(name, value);
        for (const tol of m.tolerances) this.tolerances.add(tol);
        this.say(echo + this.played(cmd));
        return;
      }
      why = m.why;
    }
    const own = this.board.answer(cmd, this.phase);
    if (own !== null) {
      if (this.phase === 'startup') this.startupLog.push({ line, reply: echo + own });
      this.say(echo + own);
      return;
    }
    if (entry?.kind === 'host' && this.phase === 'transcript') {
      this.fail(
        `at ${this.where(entry)} the transcript expects\n  ${show(entry.text)}\nbut the driver wrote\n  ${show(line)}\n(${why || 'it expects a payload'}; the board has no answer of its own for it either)`,
      );
    } else
      this.fail(
        `${this.phase}: the driver wrote ${show(line)}, which is neither a transcript step nor a command the board answers by itself`,
      );
  }

  /** The reply to a matched command: the device steps that follow it, rendered for the driver's mode. */
  private played(cmd: Cmd): string {
    const id = typeof cmd.args.link_id === 'number' ? cmd.args.link_id : null;
    // Effects first: the reply may already hold what they enable (a server's first client).
    if (cmd.name === 'CIPSTART') this.board.starting(cmd.args);
    else this.board.apply(cmd.name, cmd.args, '');
    let reply = this.playDevice(cmd.name === 'CIPCLOSE', cmd.name === 'CIPRECVDATA' ? id : null);
    if (cmd.name === 'CIPSTART' && id !== null) this.board.settle(id);
    if (cmd.name === 'CIPRECVDATA' && id !== null) reply += this.board.releaseClosed(id);
    if (cmd.prompt && reply.includes('OK\r\n\r\n>')) this.payloadBytes = Number(cmd.args.length);
    return reply;
  }

  private onPayload(data: string): void {
    this.hostLines.push(data);
    const entry = this.entries[this.cursor];
    if (entry?.kind !== 'host' || entry.cmd !== null || entry.text !== data) {
      const want = entry?.kind === 'host' ? entry.text : entry;
      this.fail(
        `the driver sent the payload ${show(data)}; the transcript expects ${show(want)}${entry ? ` (${this.where(entry)})` : ''}`,
      );
      return;
    }
    this.cursor++;
    this.say(this.playDevice(false, null));
  }

  // ---- device bytes ----
  /** Plays the device (and peer) steps up to the next host step. */
  private playDevice(closing: boolean, readLink: number | null): string {
    let out = '';
    for (let e = this.entries[this.cursor]; e && e.kind !== 'host'; e = this.entries[++this.cursor]) {
      if (e.kind === 'peer') this.peerData = e.data;
      else
        out += tokenize(e.text, e.mux)
          .map((tok) => this.render(tok, closing, readLink))
          .join('');
    }
    if (this.cursor >= this.entries.length) this.phase = 'teardown';
    return out;
  }

  private render(tok: Token, closing: boolean, readLink: number | null): string {
    const b = this.board;
    switch (tok.kind) {
      case 'text':
        if (tok.text.startsWith('WIFI ')) b.wifiEvent(tok.text);
        return tok.text;
      case 'link':
        return tok.what === 'CONNECT' ? b.connect(this.connectId(tok.key)) : b.closed(this.idOf(tok.key), closing);
      case 'ipd':
        return b.deliver(this.idOf(tok.key), tok.data, tok.remote);
      case 'notice':
        // A passive notice carries no bytes: they are what the peer sent just before.
        if (this.peerData.length !== tok.length)
          throw new Error(`+IPD notice of ${tok.length} bytes, but the peer sent ${show(this.peerData)}`);
        return b.deliver(this.idOf(tok.key), this.peerData, null);
      case 'recv-data':
        if (readLink === null) throw new Error('+CIPRECVDATA outside a read');
        return b.take(readLink, tok.data);
    }
  }

  private idOf(key: string): number {
    const id = this.bindings.get(key);
    if (id === undefined) throw new Error(`the transcript's link ${key} was never opened by the driver`);
    return id;
  }

  /** `<id>,CONNECT` of a link nobody started is a client the server accepted: the board picks its id. */
  private connectId(key: string): number {
    const bound = this.bindings.get(key);
    if (bound !== undefined) return bound;
    const id = this.board.lowestFree();
    if (id === undefined) throw new Error('no free link id for an accepted client');
    this.bindings.set(key, id);
    if (key !== 'single' && Number(key) !== id) this.tolerances.add('link-id');
    return id;
  }

  private say(s: string): void {
    this.pending += s;
  }

  private flush(): void {
    const s = this.pending;
    this.pending = '';
    if (!s) return;
    const pieces = this.cut(s);
    this.sending = this.sending.then(async () => {
      for (const p of pieces) {
        await new Promise((r) => setImmediate(r));
        if (!this.destroyed) this.push(Buffer.from(p, 'latin1'));
      }
    });
  }

  private cut(s: string): string[] {
    if (this.opts.split === 'glued') return [s];
    if (this.opts.split === 'bytes') return [...s];
    const out: string[] = [];
    for (let i = 0; i < s.length; ) {
      const n = ODD[this.oddAt++ % ODD.length]!;
      out.push(s.slice(i, i + n));
      i += n;
    }
    return out;
  }

  private attempt(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.fail((err as Error).message);
    }
  }

  private where(e: Entry): string {
    return `${this.transcript.name} ${'label' in e ? e.label : 'peer step'}`;
  }

  private fail(message: string): void {
    if (this.failure) return;
    const tail = this.hostLines.slice(-6).map(show).join('\n  ');
    this.failure = new Error(
      `transcript player (${this.transcript.name}, ${this.opts.variant}/${this.opts.split}): ${message}\nlast host writes:\n  ${tail}`,
    );
    this.rejectFailed(this.failure);
  }
}
