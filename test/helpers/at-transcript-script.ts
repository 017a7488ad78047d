/**
 * A transcript as the player plays it (at-transcript-player.ts): its steps prepared (the driver's
 * start-up set aside, per-scenario adaptations applied), the tokenizer that finds the device-byte
 * shapes a driver's mode changes, and the matcher that says whether a command the driver wrote is
 * the transcript's next one — with THE table of per-command tolerances (RULES).
 */
import { at } from '../../firmware-protocol/index.js';
import { fill, type Transcript } from '../../fixtures/at/transcripts.js';
import type { Board, BoardLink, BoardOptions } from './at-transcript-board.js';

/** `driver`: a board that accepts every mode the driver asks for. `literal`: one without passive receive (and without CIPDINFO unless the transcript turns it on), so the transcript's own `+IPD` bytes come out. */
export type Variant = 'driver' | 'literal';
/** How device output is cut into 'data' events: one per reply, one byte each, or odd sizes that split inside headers and payloads. */
export type Split = 'glued' | 'bytes' | 'odd';
/** A host step (by its template text) the driver cannot produce. */
export type Adaptation = { readonly drop: string } | { readonly as: string; readonly why: string };

export interface PlayOptions {
  readonly variant: Variant;
  readonly split: Split;
  /** Values of the transcript's variables; the others take their documented example. */
  readonly values?: Readonly<Record<string, string>>;
  readonly adapt?: Readonly<Record<string, Adaptation>>;
  /** Variables the driver chooses (e.g. a UDP local port): any value it writes is taken, then held to. */
  readonly free?: readonly string[];
  readonly board?: Partial<BoardOptions>;
}

type Args = Record<string, string | number>;
export type Cmd = at.ParsedCommand;
export interface HostEntry {
  readonly kind: 'host';
  readonly label: string;
  readonly text: string;
  readonly mux: 0 | 1;
  /** null: the payload after a `>` prompt. */
  readonly cmd: Cmd | null;
  /** Parameters that hold a free variable: parameter name → variable name. */
  readonly free: Readonly<Record<string, string>>;
}
export type Entry =
  | HostEntry
  | { readonly kind: 'device'; readonly label: string; readonly text: string; readonly mux: 0 | 1 }
  | { readonly kind: 'peer'; readonly data: string };
export interface StartupCheck {
  readonly label: string;
  readonly text: string;
  readonly cmd: Cmd;
  reply: string | null;
}

/** Mode commands the driver's start-up sends; a transcript's copies are checked against it. */
export const START_UP = new Set(['ATE0', 'SYSLOG', 'CIPMUX', 'CIPDINFO', 'CIPRECVTYPE', 'CIPRECVMODE']);
const LINK_COMMANDS = new Set([
  'CIPSTART',
  'CIPSEND',
  'CIPCLOSE',
  'CIPRECVDATA',
  'CIPSSLCCONF',
  'CIPSSLCSNI',
  'CIPSSLCALPN',
]);
/** Commands that may be the first to name a link: the driver configures an SSL link before its CIPSTART. */
const LINK_OPENERS = new Set(['CIPSTART', 'CIPSSLCCONF', 'CIPSSLCSNI', 'CIPSSLCALPN']);
export const show = (s: unknown) => JSON.stringify(s);

export function parse(text: string, mux: 0 | 1, where: string): Cmd {
  const r = at.parseCommandLine(Buffer.from(text.replace(/\r\n$/, ''), 'latin1'), mux);
  if (at.isBadReason(r)) throw new Error(`${where}: ${show(text)} is not a command (${r.code})`);
  return r;
}

// ---- per-command tolerances: each returns its name when it applies (and removes what it excused) ----
type Rule = (ta: Args, da: Args, link: BoardLink | undefined, ctx: MatchContext) => string | null;
const RULES: Readonly<Record<string, readonly Rule[]>> = {
  CIPSTART: [
    // UDP links are opened in mode 2 (any sender, so recvfrom works on an unconnected socket);
    // the transcript's mode 0 only narrows who may send, and its one peer is the remote.
    (ta, da) =>
      String(ta.type).startsWith('UDP') && ta.mode !== da.mode && da.mode === 2
        ? drop('udp-mode-2', ta, da, 'mode')
        : null,
    // <keep_alive> (multi-link-dinfo's `,60`): the driver never sends it (SO_KEEPALIVE is accepted and ignored).
    (ta, da) =>
      ta.keep_alive !== undefined && da.keep_alive === undefined ? drop('no-keep-alive', ta, da, 'keep_alive') : null,
    // connect() resolves a name with AT+CIPDOMAIN first, so CIPSTART carries the address.
    (ta, da, _l, ctx) =>
      ctx.names[String(ta.remote_host)] !== undefined && ctx.names[String(ta.remote_host)] === da.remote_host
        ? drop('resolved-host', ta, da, 'remote_host')
        : null,
  ],
  CIPSEND: [
    // Datagrams always name their destination; for a connected socket it is the link's own remote.
    (ta, da, link) =>
      ta.remote_host === undefined &&
      link?.type.startsWith('UDP') &&
      link.remote[0] === da.remote_host &&
      link.remote[1] === da.remote_port
        ? drop('udp-send-to-remote', ta, da, 'remote_host', 'remote_port')
        : null,
  ],
  CIPSSLCCONF: [
    // Every setting is written (nothing of an earlier connection lingers): pki/ca 0 where the
    // transcript leaves them out, which auth 0 does not use anyway.
    (ta, da) =>
      ta.pki_number === undefined && ta.ca_number === undefined && da.pki_number === 0 && da.ca_number === 0
        ? drop('ssl-zero-numbers', ta, da, 'pki_number', 'ca_number')
        : null,
  ],
  CIPSERVER: [
    // close() of a listening socket keeps accepted ones (Python semantics): AT+CIPSERVER=0. With no
    // client open it does what the transcript's AT+CIPSERVER=0,1 does.
    (ta, da, _l, ctx) =>
      ta.mode === 0 && ta.close_all === 1 && da.close_all === undefined && !ctx.board.hasServerClients()
        ? drop('server-close-all', ta, da, 'close_all')
        : null,
  ],
  // Reads ask for the socket buffer's free room, not the transcript's count; the board answers what it holds.
  CIPRECVDATA: [(ta, da) => (Number(da.len) >= Number(ta.len) ? drop('read-size', ta, da, 'len') : null)],
};

function drop(name: string, ta: Args, da: Args, ...keys: string[]): string {
  for (const k of keys) {
    delete ta[k];
    delete da[k];
  }
  return name;
}

export interface MatchContext {
  readonly board: Board;
  readonly names: Readonly<Record<string, string>>;
  bound(key: string): number | undefined;
  captured(name: string): string | undefined;
}
type Match =
  | { ok: true; tolerances: string[]; bind: [string, number] | null; captures: [string, string][] }
  | { ok: false; why: string };

/** Whether the driver's command `d` is the transcript's `entry`, and by which tolerances. */
export function matchCommand(entry: HostEntry & { cmd: Cmd }, d: Cmd, ctx: MatchContext): Match {
  const t = entry.cmd;
  if (t.name !== d.name) return { ok: false, why: `AT+${d.name} is not AT+${t.name}` };
  const ta: Args = { ...t.args };
  const da: Args = { ...d.args };
  const tolerances: string[] = [];
  const captures: [string, string][] = [];
  let form = t.form;
  let bind: [string, number] | null = null;
  const id = typeof da.link_id === 'number' && LINK_COMMANDS.has(d.name) ? da.link_id : null;
  if (id !== null) {
    const key = entry.mux === 0 ? 'single' : String(ta.link_id);
    if (entry.mux === 0) tolerances.push('mux0-forms');
    else if (ta.link_id !== id) tolerances.push('link-id');
    if (entry.mux === 0 && form === 'execute') form = 'set'; // AT+CIPCLOSE → AT+CIPCLOSE=<id>
    const was = ctx.bound(key);
    if (was === undefined && LINK_OPENERS.has(d.name)) bind = [key, id];
    else if (was !== id)
      return { ok: false, why: `link ${id}, but the transcript's link ${key} is ${was ?? 'not open'}` };
    delete ta.link_id;
    delete da.link_id;
  }
  if (form !== d.form) return { ok: false, why: `the ${d.form} form, not the ${form} form` };
  for (const [param, name] of Object.entries(entry.free)) {
    const held = ctx.captured(name);
    if (held !== undefined && String(da[param]) !== held) {
      return { ok: false, why: `${param} ${show(da[param])}, but {{${name}}} was ${show(held)}` };
    }
    if (da[param] !== undefined) captures.push([name, String(da[param])]);
    delete ta[param];
    delete da[param];
  }
  for (const rule of RULES[d.name] ?? []) {
    const name = rule(ta, da, id === null ? undefined : ctx.board.links[id], ctx);
    if (name) tolerances.push(name);
  }
  const differ = Object.keys({ ...ta, ...da }).filter((k) => ta[k] !== da[k]);
  if (differ.length > 0) {
    return { ok: false, why: differ.map((k) => `${k} ${show(da[k])} instead of ${show(ta[k])}`).join(', ') };
  }
  return { ok: true, tolerances, bind, captures };
}

// ---- device bytes → tokens (only the shapes the driver's mode changes; all else verbatim) ----
export type Token =
  | { kind: 'text'; text: string }
  | { kind: 'link'; key: string; what: string }
  | { kind: 'ipd'; key: string; data: string; remote: [string, number] | null }
  | { kind: 'notice'; key: string; length: number }
  | { kind: 'recv-data'; data: string };

const IPD_HEAD = [
  /\r\n\+IPD,()(\d+)(?:,"([^"]*)",(\d+))?(:|\r\n)/y,
  /\r\n\+IPD,(\d+),(\d+)(?:,"([^"]*)",(\d+))?(:|\r\n)/y,
];
const RECV_DATA_HEAD = /\+CIPRECVDATA:(\d+),(?:"[^"]*",\d+,)?/y;
const LINK_LINE = [/^()(CONNECT|CLOSED)\r\n$/, /^(\d+),(CONNECT|CLOSED)\r\n$/];

function sticky(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

export function tokenize(text: string, mux: 0 | 1): Token[] {
  const out: Token[] = [];
  const keyOf = (id: string | undefined) => (mux === 0 ? 'single' : String(id));
  for (let i = 0; i < text.length; ) {
    const ipd = sticky(IPD_HEAD[mux]!, text, i);
    if (ipd) {
      const [head, id, len, ip, port, end] = ipd;
      i += head.length;
      if (end !== ':') {
        out.push({ kind: 'notice', key: keyOf(id), length: Number(len) });
        continue;
      }
      const data = text.slice(i, i + Number(len));
      if (data.length !== Number(len)) throw new Error(`+IPD says ${len} bytes, the transcript has ${data.length}`);
      out.push({ kind: 'ipd', key: keyOf(id), data, remote: ip === undefined ? null : [ip, Number(port)] });
      i += data.length;
      continue;
    }
    const rd = sticky(RECV_DATA_HEAD, text, i);
    if (rd) {
      i += rd[0].length;
      out.push({ kind: 'recv-data', data: text.slice(i, i + Number(rd[1])) });
      i += Number(rd[1]);
      continue;
    }
    const nl = text.indexOf('\r\n', i);
    const line = text.slice(i, nl < 0 ? text.length : nl + 2);
    i += line.length;
    const m = LINK_LINE[mux]!.exec(line);
    out.push(m ? { kind: 'link', key: keyOf(m[1]), what: m[2]! } : { kind: 'text', text: line });
  }
  return out;
}

/** The transcript, prepared for playing: start-up steps set aside, adaptations applied, boot banner found. */
export interface Script {
  readonly entries: Entry[];
  readonly checks: StartupCheck[];
  /** A leading `\r\nready\r\n`: the board is still booting when the driver starts. */
  readonly boot: string | null;
  /** Tolerances the adaptations imply (`dropped`, `substitute`). */
  readonly tolerances: string[];
}

/**
 * Prepares `t` for playing with `opts`.
 *
 * @example
 * prepareScript(loadTranscript('tcp-client'), { variant: 'driver', split: 'glued' }).checks[0].text; // 'ATE0\r\n'
 */
export function prepareScript(t: Transcript, opts: PlayOptions): Script {
  const script = {
    entries: [] as Entry[],
    checks: [] as StartupCheck[],
    boot: null as string | null,
    tolerances: [] as string[],
  };
  const values = Object.fromEntries(Object.entries(t.vars).map(([k, v]) => [k, opts.values?.[k] ?? v.example]));
  const steps = [
    ...t.setup.map((s, i) => [s, `setup[${i}]`] as const),
    ...t.steps.map((s, i) => [s, `steps[${i}]`] as const),
  ];
  let mux = t.board.mux;
  let prompt = false;
  let replyOf: StartupCheck | 'drop' | null = null;
  for (const [step, label] of steps) {
    if ('device' in step) {
      const text = fill(step.device, values);
      const held = opts.free?.find((name) => step.device.includes(`{{${name}}}`));
      if (held) throw new Error(`${t.name} ${label}: free variable {{${held}}} in device bytes is not supported`);
      if (label === steps[0]?.[1] && text.includes('\r\nready\r\n')) {
        script.boot = text; // the banner of a board that is still booting
        continue;
      }
      if (replyOf === 'drop') replyOf = null;
      else if (replyOf) [replyOf.reply, replyOf] = [text, null];
      else script.entries.push({ kind: 'device', label, text, mux });
      continue;
    }
    replyOf = null;
    if ('peer' in step && step.peer === 'send') script.entries.push({ kind: 'peer', data: step.data ?? '' });
    if (!('host' in step)) continue;
    const how = opts.adapt?.[step.host];
    if (how && 'drop' in how) {
      script.tolerances.push('dropped');
      replyOf = 'drop';
      continue;
    }
    if (how) script.tolerances.push('substitute');
    const text = how ? how.as : fill(step.host, values);
    if (prompt) {
      prompt = false;
      script.entries.push({ kind: 'host', label, text, mux, cmd: null, free: {} });
      continue;
    }
    const cmd = parse(text, mux, `${t.name} ${label}`);
    if (START_UP.has(cmd.name) && cmd.form !== 'query') {
      replyOf = { label, text, cmd, reply: null };
      script.checks.push(replyOf);
      if (cmd.name === 'CIPMUX') mux = cmd.args.mode === 1 ? 1 : 0;
      continue;
    }
    prompt = cmd.prompt;
    const free = how ? {} : freeParams(opts, step.host, mux, values, cmd);
    script.entries.push({ kind: 'host', label, text, mux, cmd, free });
  }
  const unused = Object.keys(opts.adapt ?? {}).filter(
    (k) => ![...t.setup, ...t.steps].some((s) => 'host' in s && s.host === k),
  );
  if (unused.length > 0) throw new Error(`${t.name}: adapt names steps the transcript does not have: ${show(unused)}`);
  return script;
}

/** Which parameters of a host step carry a free variable: those that change with its value. */
function freeParams(
  opts: PlayOptions,
  template: string,
  mux: 0 | 1,
  values: Record<string, string>,
  cmd: Cmd,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of opts.free ?? []) {
    if (!template.includes(`{{${name}}}`)) continue;
    const v = values[name]!;
    const other = parse(
      fill(template, { ...values, [name]: /^\d+$/.test(v) ? String(Number(v) + 1) : `${v}x` }),
      mux,
      name,
    );
    for (const k of Object.keys(cmd.args)) if (other.args[k] !== cmd.args[k]) out[k] = name;
  }
  return out;
}
