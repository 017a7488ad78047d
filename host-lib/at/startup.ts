/**
 * Start-up: find the firmware, learn which command spellings it has, and put it in the one
 * mode the driver speaks (echo off, multi-link, passive receive, remote address in data).
 * Runs at open and again after every `ready` (reboot). On a v3.3+ board with echo still on
 * the exchange looks like:
 *
 * ```text
 * H: AT\r\n              D: AT\r\n\r\nOK\r\n
 * H: ATE0\r\n            D: ATE0\r\n\r\nOK\r\n
 * H: AT+GMR\r\n          D: AT version:3.4.0.0(…)\r\nSDK version:…\r\n…\r\n\r\nOK\r\n
 * H: AT+SYSLOG=1\r\n     D: \r\nOK\r\n              (ERROR on builds without it: fine)
 * H: AT+CIPMUX?\r\n      D: +CIPMUX:0\r\n\r\nOK\r\n  then AT+CIPMUX=1 if it was 0
 * H: AT+CIPSTATE?\r\n    D: \r\nOK\r\n              (stale links from an earlier session → AT+CIPCLOSE=5)
 * H: AT+CIPRECVTYPE=5,1\r\n  D: \r\nOK\r\n          (≤ v3.2: AT+CIPRECVMODE=1)
 * H: AT+CIPDINFO=1\r\n   D: \r\nOK\r\n
 * ```
 */
import { type at, errno as E } from '../../firmware-protocol/index.js';
import { OSError } from '../errors.js';
import { type AtChannel, type AtCommand, type AtReply, infoLines } from './channel.js';
import { escapePassthrough, fillPendingPayload } from './unwedge.js';

/** What the probe learnt about the firmware. */
export interface AtCapabilities {
  /** `AT version:` text, e.g. `3.4.0.0(…)`; '' if AT+GMR did not say. */
  readonly version: string;
  /** [major, minor] of the AT core; [2, 0] when unknown. */
  readonly release: readonly [number, number];
  /** The passive-receive command this firmware has; null = stuck in active mode. */
  readonly recvCommand: 'CIPRECVTYPE' | 'CIPRECVMODE' | null;
  /** Largest AT+CIPSEND payload: 8192 from v2.4, 2048 before. */
  readonly maxSend: number;
  /** `ERR CODE:` lines are printed (AT+SYSLOG=1 accepted). */
  readonly syslog: boolean;
  /** `+IPD` / `+CIPRECVDATA` carry the remote address (AT+CIPDINFO=1 accepted). */
  readonly remoteInfo: boolean;
  /** AT+CIPSTART takes a trailing `<timeout>` (v4.1+). */
  readonly startTimeout: boolean;
}

const AT_ATTEMPT_MS = 300;

const init = (name: at.CommandName, form: at.AtForm, params: at.ParamInput[] = [], extra: Partial<AtCommand> = {}) =>
  ({ name, form, params, init: true, ...extra }) satisfies AtCommand;

/** Runs a command; resolves to null instead of throwing when the firmware says ERROR (or busy). */
async function tryRun(ch: AtChannel, cmd: AtCommand): Promise<AtReply | null> {
  try {
    return await ch.run(cmd);
  } catch (err) {
    if (ch.isClosed || !(err instanceof OSError)) throw err;
    if (err.errno === E.ETIMEDOUT || err.errno === E.ECONNRESET) throw err; // no answer, or a reboot
    return null;
  }
}

/**
 * Sends `AT` until it is answered `OK` (a booting module is silent, and a `ready` meanwhile
 * just means it finished booting), or throws ETIMEDOUT at the deadline. A module that stays
 * silent may be wedged by an earlier host (unwedge.ts): after two silent probes it is fed the
 * payload of a pending AT+CIPSEND, after two more it is sent `+++` to leave passthrough.
 */
export async function syncAt(ch: AtChannel, timeoutMs: number, baudRate = 115200): Promise<void> {
  ch.mux = 0;
  const deadline = Date.now() + timeoutMs;
  const recoveries = [() => fillPendingPayload(ch, baudRate, deadline), () => escapePassthrough(ch, deadline)];
  let silent = 0;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new OSError(E.ETIMEDOUT, `no ESP-AT module answered AT within ${timeoutMs} ms`);
    try {
      const timeout = Math.min(AT_ATTEMPT_MS, Math.max(50, left));
      await ch.run(init('AT', 'execute', [], { timeoutMs: timeout, retryBusy: false }));
      return;
    } catch (err) {
      if (ch.isClosed) throw err; // the link itself is gone
      // ERROR (garbage before our AT on the line), busy, no answer yet: try again. Only no
      // result at all counts as silence (a wedged module may even echo: passthrough to an echo peer).
      silent = isNoAnswer(err) ? silent + 1 : 0;
    }
    if (silent >= 2 && recoveries.length > 0) {
      await recoveries.shift()!();
      silent = 0;
    }
  }
}

/** A command that got no result line at all (not ERROR, not `busy p...`). */
function isNoAnswer(err: unknown): boolean {
  return err instanceof OSError && err.errno === E.ETIMEDOUT && /no answer/.test(err.message);
}

/** `AT version:3.4.0.0(…)` → [3, 4]. */
export function parseRelease(version: string): [number, number] | null {
  const m = /^\s*v?(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

const atLeast = (r: readonly [number, number], major: number, minor: number) =>
  r[0] > major || (r[0] === major && r[1] >= minor);

/**
 * Configures a module that answers `AT` (after {@link syncAt}). Throws OSError(EIO) if the
 * module refuses multi-link mode.
 */
export async function configure(ch: AtChannel): Promise<AtCapabilities> {
  await tryRun(ch, init('ATE0', 'execute'));
  // Guarded: a late OK from an unanswered AT above must not pass for AT+GMR's.
  const gmr = await tryRun(ch, init('GMR', 'execute', [], { needLine: (m) => m.type === 'version' }));
  const version = gmr?.lines.find((m) => m.type === 'version' && m.key === 'AT version');
  const text = version?.type === 'version' ? version.value : '';
  const release = parseRelease(text) ?? [2, 0];
  const syslog = (await tryRun(ch, init('SYSLOG', 'set', [1]))) !== null;
  await multiLink(ch);
  const recvCommand = await passiveReceive(ch, release);
  const remoteInfo = (await tryRun(ch, init('CIPDINFO', 'set', [1]))) !== null;
  ch.parser.recvDataRemote = remoteInfo;
  return {
    version: text,
    release,
    recvCommand,
    maxSend: atLeast(release, 2, 4) ? 8192 : 2048,
    syslog,
    remoteInfo,
    startTimeout: atLeast(release, 4, 1),
  };
}

/** AT+CIPMUX=1, closing links a previous session left open first (the firmware refuses otherwise). */
async function multiLink(ch: AtChannel): Promise<void> {
  const q = await tryRun(ch, init('CIPMUX', 'query'));
  const mux = q ? infoLines(q, '+CIPMUX')[0]?.fields[0] : undefined;
  if (mux !== 1) {
    if ((await tryRun(ch, init('CIPMUX', 'set', [1]))) === null) {
      await tryRun(ch, init('CIPCLOSE', 'execute'));
      await tryRun(ch, init('CIPSERVER', 'set', [0]));
      await tryRun(ch, init('CIPMODE', 'set', [0])); // left in passthrough mode (unwedge.ts)
      if ((await tryRun(ch, init('CIPMUX', 'set', [1]))) === null) {
        throw new OSError(E.EIO, 'the ESP-AT module refused AT+CIPMUX=1 (is it in passthrough mode?)');
      }
    }
  }
  ch.mux = 1;
  const state = await tryRun(ch, init('CIPSTATE', 'query'));
  if (state && infoLines(state, '+CIPSTATE').length > 0) await tryRun(ch, init('CIPCLOSE', 'set', [5]));
}

/** Passive receive, in the spelling this firmware knows (CIPRECVTYPE from v3.3, CIPRECVMODE before). */
async function passiveReceive(
  ch: AtChannel,
  release: readonly [number, number],
): Promise<AtCapabilities['recvCommand']> {
  const order: ('CIPRECVTYPE' | 'CIPRECVMODE')[] = atLeast(release, 3, 3)
    ? ['CIPRECVTYPE', 'CIPRECVMODE']
    : ['CIPRECVMODE', 'CIPRECVTYPE'];
  for (const name of order) {
    const params = name === 'CIPRECVTYPE' ? [5, 1] : [1];
    if ((await tryRun(ch, init(name, 'set', params))) !== null) return name;
  }
  return null;
}
