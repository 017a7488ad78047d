/**
 * Node's own interfaces through the board (docs/node.md): a dev.net socket with half-close,
 * node:http with a keep-alive dev.http.Agent, and dev.fetch over https with the CA the board's
 * network uses. Over ESP-AT (no file store to read the CA from) pass the file `netcoproc emulate
 * --ca-out FILE` wrote.
 *
 *   npx tsx examples/node-native.ts [LOCATOR [at] [CA.pem]]
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { openDevice } from 'netcoproc';

const [locator = 'emulator:', protocol = 'slip', caFile] = process.argv.slice(2);
const dev = await openDevice(locator, { protocol: protocol === 'at' ? 'at' : 'slip' });

try {
  // net: connect returns at once; end() sends FIN where the board can half-close (not ESP-AT).
  const c = dev.net.connect(7, 'echo.test', () => c.end('hello through dev.net'));
  let echoed = '';
  c.on('data', (d) => {
    echoed += d;
    if (!c.isHalfClosed && echoed.length >= 21) c.destroy(); // ESP-AT: no FIN until destroy
  });
  await new Promise((r) => c.once('close', r));
  console.log(`net: ${echoed} (half-closed: ${c.isHalfClosed})`);

  // node:http with a keep-alive agent: the second request reuses the board socket.
  const agent = new dev.http.Agent({ keepAlive: true });
  for (const n of [100, 200]) {
    const line = await new Promise<string>((resolve, reject) => {
      const req = http.get({ agent, host: 'http.test', path: `/bytes/${n}` }, (res) => {
        let size = 0;
        res.on('data', (d: Buffer) => {
          size += d.length;
        });
        res.on('end', () => resolve(`${res.statusCode}, ${size} bytes, reused socket: ${req.reusedSocket}`));
      });
      req.on('error', reject);
    });
    console.log(`http: ${line}`);
  }
  agent.destroy();

  // fetch over https, TLS on this machine: trust the board network's CA.
  const ca = caFile ? readFileSync(caFile, 'utf8') : Buffer.from(await dev.files.read('/flash/cert/ca.pem')).toString();
  const res = await dev.fetch('https://tls.test/bytes/1000', { ca });
  console.log(`fetch: ${res.status}, ${(await res.arrayBuffer()).byteLength} bytes`);
} finally {
  await dev.close();
}
