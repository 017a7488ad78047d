/**
 * HostSlot over real loopback TCP: a host that hangs up and reconnects at once gets the seat; a
 * real second host waits its handover time, is told busy (and reported), and the first goes on.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HANDOVER_MS, MAX_WAITING } from './host-slot.js';
import { BUSY_NOTE, listenTcp, type TcpTransport } from './tcp.js';
import { createLoopbackUart, readBytes } from './testing.js';

const open: TcpTransport[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function client(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  clients.push(socket);
  await once(socket, 'connect');
  return socket;
}

describe('HostSlot (TCP transport)', () => {
  it('a host that ends and reconnects at once is seated, 200 times in a row', async () => {
    const busy: string[] = [];
    const tcp = await listenTcp(createLoopbackUart(), { onBusy: (p) => busy.push(p) });
    open.push(tcp);
    for (let i = 0; i < 200; i++) {
      const c = await client(tcp.port);
      c.end(); // the next connect races this FIN
    }
    const last = await client(tcp.port);
    const echoed = readBytes(last, 4, 2000);
    last.write('ping');
    expect((await echoed).toString()).toBe('ping');
    expect(busy).toEqual([]);
  });

  it('a real second host waits its handover time, is told busy, and is reported', async () => {
    const busy: string[] = [];
    const tcp = await listenTcp(createLoopbackUart(), { onBusy: (p) => busy.push(p) });
    open.push(tcp);
    const first = await client(tcp.port);
    const t0 = Date.now();
    const second = await client(tcp.port);
    const note = await readBytes(second, BUSY_NOTE.length, HANDOVER_MS + 2000);
    expect(note.toString()).toBe(BUSY_NOTE);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(HANDOVER_MS - 20);
    expect(busy).toHaveLength(1);
    const echoed = readBytes(first, 2, 2000);
    first.write('ok');
    expect((await echoed).toString()).toBe('ok');
  });

  it(`beyond ${MAX_WAITING} waiting newcomers, the next is refused at once`, async () => {
    const busy: string[] = [];
    const tcp = await listenTcp(createLoopbackUart(), { onBusy: (p) => busy.push(p) });
    open.push(tcp);
    await client(tcp.port);
    for (let i = 0; i < MAX_WAITING; i++) await client(tcp.port);
    const extra = await client(tcp.port);
    const note = await readBytes(extra, BUSY_NOTE.length, 5000);
    expect(note.toString()).toBe(BUSY_NOTE);
    // Refused ahead of the ones still waiting (their handover time has not run out yet).
    expect(busy).toEqual([`127.0.0.1:${extra.localPort}`]);
  });
});
