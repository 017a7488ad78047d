/**
 * MicroPython-style code on a coprocessor: echo over TCP, an HTTP GET, select.poll, and errno.
 *
 *   npx tsx examples/micropython-style.ts                       # an in-process emulator
 *   npx tsx examples/micropython-style.ts socket://127.0.0.1:7777  # `netcoproc emulate --listen ...`
 *   npx tsx examples/micropython-style.ts /dev/ttyUSB0          # a board running the device agent
 */
import { OSError, openDevice } from 'netcoproc';

const dev = await openDevice(process.argv[2] ?? 'emulator:');
const { socket, select, errno } = dev;
try {
  // Echo: connect, send, read back.
  const s = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
  s.settimeout(5);
  await s.connect((await socket.getaddrinfo('echo.test', 7))[0]![4]);
  await s.sendall('hello, coprocessor');
  console.log('echo:', new TextDecoder().decode((await s.read(18)) ?? new Uint8Array()));

  // select.poll: wait until the echo of a second message is readable.
  const poller = select.poll();
  poller.register(s, select.POLLIN);
  await s.write('again');
  console.log(
    'poll:',
    (await poller.poll(2000)).map(([, ev]) => (ev & select.POLLIN ? 'POLLIN' : ev)),
  );
  await s.read(5);

  // Non-blocking: nothing to read yet is EAGAIN, as on MicroPython.
  s.setblocking(false);
  try {
    await s.recv(10);
  } catch (e) {
    if (e instanceof OSError && e.errno === errno.EAGAIN) console.log('non-blocking recv: EAGAIN');
    else throw e;
  }
  await s.close();

  // HTTP/1.1 over a plain socket, read to EOF.
  const h = await socket.socket();
  h.settimeout(5);
  await h.connect((await socket.getaddrinfo('http.test', 80))[0]![4]);
  await h.sendall('GET /bytes/64 HTTP/1.1\r\nHost: http.test\r\nConnection: close\r\n\r\n');
  const reply = Buffer.from((await h.read()) ?? new Uint8Array());
  await h.close();
  console.log(
    'http:',
    reply.toString('latin1').split('\r\n')[0],
    `(${reply.length - reply.indexOf('\r\n\r\n') - 4} body bytes)`,
  );

  // A refused connect is OSError(ECONNREFUSED).
  const r = await socket.socket();
  try {
    await r.connect((await socket.getaddrinfo('refused.test', 80))[0]![4]);
  } catch (e) {
    if (e instanceof OSError) console.log('refused.test:', errno.errorcode[e.errno]);
    else throw e;
  } finally {
    await r.close();
  }
} finally {
  await dev.close();
}
