import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_NOTE, listenTcp, type TcpTransport } from './tcp.js';
import { bytePattern, createLoopbackUart, firstMismatch, readBytes } from './testing.js';

const open: TcpTransport[] = [];
const clients: Socket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function serve(uart: Duplex, events: string[] = []): Promise<TcpTransport> {
  const tcp = await listenTcp(uart, {
    onAttach: (peer) => events.push(`attach ${peer}`),
    onDetach: (peer) => events.push(`detach ${peer}`),
  });
  open.push(tcp);
  return tcp;
}

async function client(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  await once(socket, 'connect');
  return socket;
}

/** Polls `predicate` every 5 ms until true or `timeoutMs` passes. */
async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('listenTcp', () => {
  it('listens on 127.0.0.1 and reports a socket:// url', async () => {
    const tcp = await serve(createLoopbackUart());
    expect(tcp.port).toBeGreaterThan(0);
    expect(tcp.url).toBe(`socket://127.0.0.1:${tcp.port}`);
    expect(tcp.attached).toBe(false);
  });

  it('echoes 1 MiB of all byte values intact and in order', async () => {
    const tcp = await serve(createLoopbackUart());
    const socket = await client(tcp.port);
    const data = bytePattern(1 << 20);
    const echoed = readBytes(socket, data.length, 10_000);
    socket.write(data);
    expect(firstMismatch(await echoed, data)).toBe(-1);
  });

  it('refuses a second client with a note and keeps serving the first', async () => {
    const events: string[] = [];
    const tcp = await serve(createLoopbackUart(), events);
    const first = await client(tcp.port);
    await until(() => tcp.attached);
    const second = await client(tcp.port);
    const note = readBytes(second, BUSY_NOTE.length, 2000);
    expect((await note).toString()).toBe(BUSY_NOTE);
    await once(second, 'close');
    const echoed = readBytes(first, 5, 2000);
    first.write('still');
    expect((await echoed).toString()).toBe('still');
    expect(events.filter((e) => e.startsWith('attach'))).toHaveLength(1);
  });

  it('serves the next client after the first disconnects', async () => {
    const events: string[] = [];
    const tcp = await serve(createLoopbackUart(), events);
    const first = await client(tcp.port);
    await until(() => tcp.attached);
    first.end();
    await until(() => !tcp.attached);
    const again = await client(tcp.port);
    const echoed = readBytes(again, 5, 2000);
    again.write('again');
    expect((await echoed).toString()).toBe('again');
    expect(events.map((e) => e.split(' ')[0])).toEqual(['attach', 'detach', 'attach']);
  });

  it('drops device output while no client is attached', async () => {
    const deviceOut = new PassThrough();
    const uart = Duplex.from({ writable: new PassThrough(), readable: deviceOut });
    const tcp = await serve(uart);
    deviceOut.write('stale boot banner\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const socket = await client(tcp.port);
    await until(() => tcp.attached);
    const got = readBytes(socket, 7, 2000);
    deviceOut.write('fresh\r\n');
    expect((await got).toString()).toBe('fresh\r\n');
  });

  it('close() disconnects the client and frees the port', async () => {
    const events: string[] = [];
    const tcp = await serve(createLoopbackUart(), events);
    const socket = await client(tcp.port);
    await until(() => tcp.attached);
    const closed = once(socket, 'close');
    await tcp.close();
    await closed;
    expect(events.map((e) => e.split(' ')[0])).toEqual(['attach', 'detach']);
    const refused = connect(tcp.port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});
