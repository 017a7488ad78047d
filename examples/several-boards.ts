/**
 * Several boards on one virtual network: board B serves a TCP echo (a MicroPython-style accept
 * loop), board A connects to B's address; a Node client on this machine reaches B too, through
 * the loopback port B's listener is forwarded to (like QEMU hostfwd).
 *
 *   npx tsx examples/several-boards.ts
 * Across processes, `netcoproc emulate --join lab` does the same (README "Servers and several boards").
 */
import { connect } from 'node:net';
import { openDevice, type Socket } from 'netcoproc';
import { createEmulator, VirtualNetwork } from 'netcoproc/emulator';

const network = new VirtualNetwork();
const a = createEmulator({ network });
const b = createEmulator({ network, profile: 'esp32' });
const devA = await openDevice(a.uart);
const devB = await openDevice(b.uart);
console.log(`board A ${a.nic.ip} (${devA.profile}), board B ${b.nic.ip} (${devB.profile})`);

/** Echoes whatever a client sends until it closes. */
async function serve(conn: Socket): Promise<void> {
  conn.settimeout(5);
  for (let chunk = await conn.recv(512); chunk.length > 0; chunk = await conn.recv(512)) await conn.sendall(chunk);
  await conn.close();
}

try {
  const server = await devB.socket.socket();
  await server.bind(['0.0.0.0', 8000]);
  const forwardPort = await server.listen(2);
  const accepting = (async () => {
    for (let i = 0; i < 2; i++) await serve((await server.accept())[0]);
  })();

  // Board A → board B over the virtual network.
  const s = await devA.socket.socket();
  s.settimeout(5);
  await s.connect([b.nic.ip, 8000]);
  await s.sendall('from board A');
  console.log('A got back:', new TextDecoder().decode((await s.read(12)) ?? new Uint8Array()));
  await s.close();

  // This machine → board B through the forwarded loopback port.
  const reply = await new Promise<string>((resolve, reject) => {
    const c = connect(forwardPort, '127.0.0.1', () => c.end('from node'));
    let got = '';
    c.on('data', (d) => {
      got += d;
    });
    c.on('close', () => resolve(got));
    c.on('error', reject);
  });
  console.log(`node via 127.0.0.1:${forwardPort} got back:`, reply);
  await accepting;
  await server.close();
} finally {
  await devA.close();
  await devB.close();
  await a.close();
  await b.close();
}
