/**
 * A stock ESP32 with Espressif's ESP-AT firmware, through the same socket API: WLAN status, a scan,
 * and an HTTP GET. Without an argument it plays against the emulator's ESP-AT personality.
 *
 *   npx tsx examples/at-board.ts                            # in-process ESP-AT emulator
 *   npx tsx examples/at-board.ts socket://127.0.0.1:7777    # `netcoproc emulate --protocol at --listen ...`
 *   npx tsx examples/at-board.ts /dev/ttyUSB0               # a real board on ESP-AT v2.x-v4.x
 */
import { openDevice } from 'netcoproc';

const dev = await openDevice(process.argv[2] ?? 'emulator:', { protocol: 'at' });
const { socket, network } = dev;
try {
  const wlan = network.WLAN(network.STA_IF);
  if (!(await wlan.isconnected())) await wlan.connect('netcoproc', 'netcoproc-pass');
  const [ip, mask] = await wlan.ifconfig();
  console.log(`wlan: connected, ip ${ip} mask ${mask}`);
  const ssids = (await wlan.scan()).map((ap) => Buffer.from(ap[0]).toString());
  console.log('scan:', ssids.join(', '));

  const s = await socket.socket();
  s.settimeout(10);
  await s.connect((await socket.getaddrinfo('http.test', 80))[0]![4]);
  await s.sendall('GET /bytes/2000 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
  const reply = Buffer.from((await s.read()) ?? new Uint8Array());
  await s.close();
  const body = reply.subarray(reply.indexOf('\r\n\r\n') + 4);
  const intact = body.length === 2000 && body.every((b, i) => b === (i & 0xff));
  console.log(
    `http: ${reply.toString('latin1').split('\r\n')[0]}, ${body.length} bytes ${intact ? 'intact' : 'CORRUPT'}`,
  );
  process.exitCode = intact ? 0 : 1;
} finally {
  await dev.close();
}
