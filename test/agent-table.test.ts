/**
 * The MicroPython device agent's tables cannot drift from the TypeScript ones: for every layout
 * of agent.OPS the agent encodes a sample frame (ncp_samples.py), and the TypeScript codec
 * (opcodes.ts, the source of truth) must decode it to the same opcode name, kind and named
 * values and re-encode it to the same bytes; every TS layout must have its Python twin. The
 * errno table and capability bits are compared too. Checked under CPython AND under real
 * MicroPython (the WebAssembly build), which must produce the very same frames.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAP, decodeMessage, ERRNO_TABLE, encodeMessage, type Message, OPS } from '../firmware-protocol/index.js';

const AGENT_DIR = fileURLToPath(new URL('../firmware-protocol/micropython/', import.meta.url));

interface Sample {
  name: string;
  code: number;
  kind: 'request' | 'response' | 'event';
  fields: unknown;
  frame: string;
}
interface Dump {
  samples: Sample[];
  errno: Record<string, [number, number]>;
  caps: number[];
  imports: string;
}

const SCRIPT = `
import json, agent, ncp_samples, ncp_wire, ncp_board
dump = json.dumps({'samples': ncp_samples.samples(), 'errno': ncp_wire.ERRNO,
                   'caps': [agent.CAP_TCP, agent.CAP_UDP, agent.CAP_SERVER], 'imports': 'ok'})
`;

function underCPython(): Dump {
  const r = spawnSync('python3', ['-B', '-c', `${SCRIPT}\nprint(dump)`], {
    cwd: AGENT_DIR,
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Dump;
}

interface MicroPython {
  FS: { mkdir(p: string): void; writeFile(p: string, data: string): void };
  runPython(code: string): unknown;
  globals: { get(k: string): unknown };
}

async function underMicroPython(): Promise<Dump> {
  // The package ships no types; the import specifier is widened so tsc accepts the untyped module.
  const pkg: string = '@micropython/micropython-webassembly-pyscript';
  const { loadMicroPython } = (await import(pkg)) as { loadMicroPython: (o: object) => Promise<MicroPython> };
  const mp = await loadMicroPython({ stdout: () => undefined, stderr: () => undefined });
  mp.FS.mkdir('/lib');
  for (const f of readdirSync(AGENT_DIR).filter((n) => n.endsWith('.py')))
    mp.FS.writeFile(`/lib/${f}`, readFileSync(`${AGENT_DIR}${f}`, 'utf8'));
  mp.runPython(SCRIPT);
  return JSON.parse(mp.globals.get('dump') as string) as Dump;
}

/** A decoded body as the samples write it: [[name, value], …], bytes as {hex}. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { hex: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, normalize(x)]);
  return v;
}

function tsLayouts(): string[] {
  return Object.entries(OPS).flatMap(([name, op]) =>
    (['request', 'response', 'event'] as const).filter((k) => k in op).map((k) => `${name} ${k}`),
  );
}

describe.each([
  ['CPython', async () => underCPython()],
  ['MicroPython (WebAssembly)', underMicroPython],
])("agent.py's tables under %s", (_name, load) => {
  let dump: Dump;
  beforeAll(async () => {
    dump = await load();
  });

  it('has exactly the layouts of opcodes.ts, with the same opcode numbers', () => {
    expect(dump.samples.map((s) => `${s.name} ${s.kind}`).sort()).toEqual(tsLayouts().sort());
    for (const s of dump.samples) expect(s.code, s.name).toBe(OPS[s.name as keyof typeof OPS].code);
  });

  it('encodes every layout as the TypeScript codec does, byte for byte and field by field', () => {
    for (const s of dump.samples) {
      const frame = Buffer.from(s.frame, 'hex');
      const msg = decodeMessage(frame) as Message & { body: unknown };
      expect([msg.op, msg.kind, msg.seq], s.name).toEqual([s.name, s.kind, 0x0102]);
      expect(normalize(msg.body), `${s.name} ${s.kind}`).toEqual(s.fields);
      expect(Buffer.from(encodeMessage(msg)).toString('hex'), `${s.name} ${s.kind}`).toBe(s.frame);
    }
  });

  it('mirrors the errno table (Linux and newlib numbers) and the capability bits', () => {
    expect(dump.errno).toEqual(Object.fromEntries(ERRNO_TABLE.map(([name, linux, newlib]) => [name, [linux, newlib]])));
    expect(dump.caps).toEqual([CAP.tcp, CAP.udp, CAP.server]);
  });

  it('imports its board I/O layer cleanly where machine/micropython are missing', () => {
    expect(dump.imports).toBe('ok');
  });
});
