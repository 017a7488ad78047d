/**
 * Fault scenarios: one JSON file (zod-validated) that says which faults the emulator injects —
 * on the serial line, in the device, on the virtual network — plus the seed that makes the run
 * replay exactly, and the ESP-AT quirks the AT personality should play.
 *
 * ```json
 * { "seed": 7,
 *   "line": { "both": { "corrupt": 1e-4, "drop": 1e-4 } },
 *   "device": { "reboot": { "afterBytes": 20000 } },
 *   "network": { "hosts": { "echo.test": { "latencyMs": 20, "resetAfterBytes": 4096 } } } }
 * ```
 * Every field is optional; `{}` is a valid scenario that injects nothing but gives the emulator
 * a controllable line (`emu.faults`). Format reference: fixtures/scenarios/README.md.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, describeIssue } from '../config-error.js';

/** The two directions of the serial line. */
export const LINE_DIRS = ['hostToDevice', 'deviceToHost'] as const;
export type LineDir = (typeof LINE_DIRS)[number];

/** ESP-AT misbehaviours seen on real boards (esp-at.md §6); the AT personality plays those switched on. */
export const AT_QUIRKS = [
  'urcBetweenPromptAndRecv',
  'ipdBeforeSendOk',
  'sendFailThenSendOk',
  'strayBusyAfterOk',
  'gluedMessages',
  'strayDebugLines',
  'echoLeftOn',
  'closedRacingRead',
  'passiveSslLengthMismatch',
] as const;
export type AtQuirk = (typeof AT_QUIRKS)[number];
/** Each quirk: off (false), on at every chance (true), or on with this probability per chance (0..1). */
export type AtQuirks = Partial<Record<AtQuirk, boolean | number>>;

const rate = z.number().min(0, 'a rate is at least 0').max(1, 'a rate is at most 1 (per byte or per datagram)');
const ms = z.number().min(0).max(86_400_000);
const count = z.int().min(0);
const dir = z.enum(LINE_DIRS);

/** Exactly one of two keys: a trigger is either a time or a byte offset. */
function oneOf<T extends object>(a: keyof T & string, b: keyof T & string) {
  return (v: T, ctx: z.RefinementCtx): void => {
    if ((v[a] === undefined) === (v[b] === undefined))
      ctx.addIssue({ code: 'custom', message: `give exactly one of ${a} or ${b}` });
  };
}

const stallSchema = z
  .strictObject({ atByte: count.optional(), atMs: ms.optional(), forMs: ms })
  .superRefine(oneOf('atByte', 'atMs'));

/**
 * One direction of the line. A rate is the fraction of bytes hit (1e-4 = one in 10 000); each
 * fault event spans `burst` consecutive bytes, so events are `burst` times rarer.
 */
export const lineConfigSchema = z.strictObject({
  corrupt: rate.optional(),
  drop: rate.optional(),
  insert: rate.optional(),
  burst: z.int().min(1).max(4096).optional(),
  latencyMs: ms.optional(),
  jitterMs: ms.optional(),
  stalls: z.array(stallSchema).optional(),
});
export type LineConfig = z.infer<typeof lineConfigSchema>;

const triggerFields = { atMs: ms.optional(), afterBytes: count.optional(), dir: dir.optional() };
const rebootSchema = z.strictObject(triggerFields).superRefine(oneOf('atMs', 'afterBytes'));
const hangSchema = z.strictObject({ ...triggerFields, forMs: ms.optional() }).superRefine(oneOf('atMs', 'afterBytes'));
export type RebootTrigger = z.infer<typeof rebootSchema>;
export type HangTrigger = z.infer<typeof hangSchema>;

const oneOrMany = <T extends z.ZodType>(item: T) =>
  z.union([item, z.array(item)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

/** Faults of one remote host (key: a name, an address, or `*` for every host). */
export const hostFaultsSchema = z.strictObject({
  /** Added to each connect and to each chunk of data, both ways. */
  latencyMs: ms.optional(),
  jitterMs: ms.optional(),
  /** The host sends a RST after this many bytes towards the device (they are delivered first). */
  resetAfterBytes: count.optional(),
  /** Connects never complete; datagrams vanish both ways. */
  blackhole: z.boolean().optional(),
  udp: z.strictObject({ loss: rate.optional(), duplicate: rate.optional(), reorder: rate.optional() }).optional(),
});
export type HostFaults = z.infer<typeof hostFaultsSchema>;

const quirkSwitch = z.union([z.boolean(), z.number().min(0).max(1, 'a quirk probability is at most 1')]);
const quirksSchema = z.strictObject(
  Object.fromEntries(AT_QUIRKS.map((q) => [q, quirkSwitch.optional()])) as Record<
    AtQuirk,
    z.ZodOptional<typeof quirkSwitch>
  >,
);

export const scenarioSchema = z.strictObject({
  $comment: z.string().optional(),
  seed: z.int().min(0).max(0xffffffff).optional(),
  line: z
    .strictObject({
      /** Paces the line at baud/10 bytes per second per direction (8N1), as `--baud`. */
      baud: z.int().min(300).optional(),
      /** Applies to both directions; `hostToDevice` / `deviceToHost` override it field by field. */
      both: lineConfigSchema.optional(),
      hostToDevice: lineConfigSchema.optional(),
      deviceToHost: lineConfigSchema.optional(),
    })
    .optional(),
  device: z
    .strictObject({
      reboot: oneOrMany(rebootSchema).optional(),
      hang: oneOrMany(hangSchema).optional(),
      /** socket() fails with ENFILE from the start (switch with `emu.faults.outOfSockets()`). */
      outOfSockets: z.boolean().optional(),
      /** socket() fails with ENOMEM from the start. */
      outOfMemory: z.boolean().optional(),
    })
    .optional(),
  network: z.strictObject({ hosts: z.record(z.string().min(1), hostFaultsSchema).optional() }).optional(),
  at: z.strictObject({ quirks: quirksSchema.optional() }).optional(),
});

/** What a scenario file may contain. */
export type FaultScenario = z.input<typeof scenarioSchema>;
/** A validated scenario (single triggers turned into lists). */
export type ResolvedScenario = z.output<typeof scenarioSchema>;

/** A scenario that failed validation; `issues` holds one `path: problem` line per fault. */
export class ScenarioError extends ConfigError {
  constructor(source: string, issues: readonly string[]) {
    super('fault scenario', source, issues);
    this.name = 'ScenarioError';
  }
}

/**
 * Validates a scenario given as a value.
 *
 * @example parseScenario({ line: { both: { corrupt: 1e-4 } } }).line?.both?.corrupt  // 0.0001
 * @throws ScenarioError naming each bad field, e.g. `line.hostToDevice.corrupt: a rate is at most 1 ...`
 */
export function parseScenario(value: unknown, source = '(value)'): ResolvedScenario {
  const result = scenarioSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ScenarioError(source, result.error.issues.map(describeIssue));
}

/**
 * Reads and validates a JSON scenario file.
 *
 * @example const s = loadScenario('fixtures/scenarios/lossy-line.json');
 * @throws ScenarioError for unreadable files, bad JSON, or schema violations.
 */
export function loadScenario(path: string): ResolvedScenario {
  return parseScenario(readScenarioFile(path), path);
}

/** The raw JSON of a scenario file (for merging command-line flags before validation). */
export function readScenarioFile(path: string): FaultScenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(path, [`cannot read file: ${(err as Error).message}`]);
  }
  try {
    return JSON.parse(text) as FaultScenario;
  } catch (err) {
    throw new ScenarioError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
}

/** The line settings of one direction: `both`, overridden field by field by the direction's own. */
export function lineConfigFor(s: ResolvedScenario, d: LineDir): LineConfig {
  return { ...s.line?.both, ...s.line?.[d] };
}

/** The command line's shorthand flags (`netcoproc emulate --corrupt 1e-4 ...`). */
export interface FaultFlags {
  corrupt?: number;
  drop?: number;
  insert?: number;
  latencyMs?: number;
  jitterMs?: number;
  /** Reboot once this many host→device bytes went through. */
  rebootAfterBytes?: number;
  rebootAtMs?: number;
  hangAtMs?: number;
}

/**
 * Lays shorthand flags over a scenario (flags win; line flags set both directions; reboot and
 * hang flags add triggers). Returns undefined when there is neither scenario nor flag.
 *
 * @example withFlags(undefined, { corrupt: 1e-4 })  // { line: { hostToDevice: { corrupt: 1e-4 }, deviceToHost: {...} } }
 */
export function withFlags(base: FaultScenario | undefined, f: FaultFlags): FaultScenario | undefined {
  const line: LineConfig = {};
  if (f.corrupt !== undefined) line.corrupt = f.corrupt;
  if (f.drop !== undefined) line.drop = f.drop;
  if (f.insert !== undefined) line.insert = f.insert;
  if (f.latencyMs !== undefined) line.latencyMs = f.latencyMs;
  if (f.jitterMs !== undefined) line.jitterMs = f.jitterMs;
  const reboots: RebootTrigger[] = [];
  if (f.rebootAfterBytes !== undefined) reboots.push({ afterBytes: f.rebootAfterBytes });
  if (f.rebootAtMs !== undefined) reboots.push({ atMs: f.rebootAtMs });
  const hangs: HangTrigger[] = f.hangAtMs === undefined ? [] : [{ atMs: f.hangAtMs }];
  const anyFlag = Object.keys(line).length > 0 || reboots.length > 0 || hangs.length > 0;
  if (!anyFlag) return base;
  const s: FaultScenario = structuredClone(base ?? {});
  if (Object.keys(line).length > 0) {
    s.line = { ...s.line };
    for (const d of LINE_DIRS) s.line[d] = { ...s.line[d], ...line };
  }
  if (reboots.length > 0 || hangs.length > 0) {
    const dev = { ...s.device };
    const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    if (reboots.length > 0) dev.reboot = [...list(dev.reboot), ...reboots];
    if (hangs.length > 0) dev.hang = [...list(dev.hang), ...hangs];
    s.device = dev;
  }
  return s;
}
