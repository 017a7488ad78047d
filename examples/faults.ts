/**
 * What a program sees when things go wrong, and how it carries on: a noisy serial line (every
 * byte still arrives intact), a connect that never completes (ETIMEDOUT at the socket timeout),
 * a refused one, and a coprocessor that reboots mid-transfer (ECONNRESET, a 'reset' event, and
 * new sockets work). Seeded, so every run injects the same faults.
 *
 *   npx tsx examples/faults.ts
 * From the command line: `netcoproc emulate --scenario fixtures/scenarios/lossy-line.json --seed 7`.
 */
import { OSError, openDevice, type Socket } from 'netcoproc';
import { createEmulator } from 'netcoproc/emulator';

// About one byte in 10 000 corrupted and one in 10 000 lost, both ways.
const emu = createEmulator({ seed: 7, faults: { line: { both: { corrupt: 1e-4, drop: 1e-4 } } } });
const dev = await openDevice(emu.uart);
const { socket, errno } = dev;
dev.on('reset', () => console.log("device event 'reset': the coprocessor restarted"));

/** Connects to host:port with a timeout in seconds. */
async function connectTo(host: string, port: number, timeout: number): Promise<Socket> {
  const s = await socket.socket();
  s.settimeout(timeout);
  try {
    await s.connect((await socket.getaddrinfo(host, port))[0]![4]);
    return s;
  } catch (e) {
    await s.close();
    throw e;
  }
}

/** The errno name of an OSError (anything else is rethrown). */
function errorName(e: unknown): string {
  if (e instanceof OSError) return errno.errorcode[e.errno] ?? String(e.errno);
  throw e;
}

try {
  // 1. A noisy line: the link retransmits, the data arrives intact.
  const s = await connectTo('http.test', 80, 10);
  await s.sendall('GET /bytes/20000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
  const reply = Buffer.from((await s.read()) ?? new Uint8Array());
  await s.close();
  const body = reply.subarray(reply.indexOf('\r\n\r\n') + 4);
  const intact = body.length === 20000 && body.every((b, i) => b === (i & 0xff));
  const damage = Object.entries(emu.faults.summary()).map(([kind, n]) => `${kind} ${n}`);
  console.log(`noisy line (${damage.join(', ')}): 20000 bytes ${intact ? 'intact' : 'CORRUPT'}`);

  // 2. blackhole.test never answers: ETIMEDOUT after the socket's own timeout.
  await connectTo('blackhole.test', 80, 0.5).then(
    (c) => c.close(),
    (e) => console.log('blackhole.test:', errorName(e)),
  );
  // 3. refused.test refuses.
  await connectTo('refused.test', 80, 5).then(
    (c) => c.close(),
    (e) => console.log('refused.test:', errorName(e)),
  );

  // 4. The board reboots while a read waits: the read fails at once, new sockets work.
  const echo = await connectTo('echo.test', 7, 10);
  const pending = echo.recv(10);
  emu.faults.reboot();
  await pending.then(
    () => console.log('read survived?!'),
    (e) => console.log('pending recv after reboot:', errorName(e)),
  );
  await echo.close();
  const again = await connectTo('echo.test', 7, 10);
  await again.sendall('still here');
  console.log('after reboot:', new TextDecoder().decode((await again.read(10)) ?? new Uint8Array()));
  await again.close();
  process.exitCode = intact ? 0 : 1;
} finally {
  await dev.close();
  await emu.close();
}
