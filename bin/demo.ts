/**
 * `netcoproc demo`: starts an emulated coprocessor on a loopback TCP port, opens it the way a
 * user opens a board (`socket://…`), and uses the MicroPython socket API through it.
 */
import { openDevice } from '../host-lib/index.js';
import { startEmulator } from './emulate.js';

export async function runDemo(): Promise<number> {
  const say = (s: string): void => console.log(s);
  const emu = await startEmulator(
    { protocol: 'slip', profile: 'wipy', listen: ['tcp://127.0.0.1:0'], pty: undefined, network: 'virtual' },
    say,
  );
  const url = (emu.lines[0] as string).replace('listening ', '');
  const dev = await openDevice(url);
  try {
    const { socket } = dev;
    say(`opened ${url}: profile ${dev.profile}`);
    const addr = (await socket.getaddrinfo('http.test', 80))[0]![4];
    say(`getaddrinfo('http.test', 80) -> ${JSON.stringify(addr)}`);
    const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(5);
    await s.connect(addr);
    await s.sendall('GET /bytes/1000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
    const reply = Buffer.from((await s.read()) ?? new Uint8Array());
    await s.close();
    const head = reply.subarray(0, reply.indexOf('\r\n\r\n')).toString('latin1');
    const body = reply.subarray(reply.indexOf('\r\n\r\n') + 4);
    const intact = body.length === 1000 && body.every((b, i) => b === (i & 0xff));
    say(
      `GET /bytes/1000 -> ${head.split('\r\n')[0]}, ${body.length} body bytes, pattern ${intact ? 'intact' : 'CORRUPT'}`,
    );
    const u = await socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
    u.settimeout(2);
    await u.sendto('ping', (await socket.getaddrinfo('echo.test', 7))[0]![4]);
    const [data, from] = await u.recvfrom(64);
    await u.close();
    say(`UDP echo.test:7 -> ${Buffer.from(data).toString()} from ${JSON.stringify(from)}`);
    say(`connect it yourself: npx netcoproc emulate --listen tcp://127.0.0.1:7777 --pty`);
    return intact ? 0 : 1;
  } finally {
    await dev.close();
    await emu.close();
  }
}
