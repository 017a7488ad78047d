import { afterEach, describe, expect, it } from 'vitest';
import type { VirtualUdp } from './udp.js';
import { VirtualNetwork } from './virtual-network.js';

let network: VirtualNetwork;
afterEach(async () => {
  await network?.close();
});

function nextMessage(udp: VirtualUdp): Promise<[Buffer, string, number]> {
  return new Promise((resolve) => udp.onMessage((data, ip, port) => resolve([Buffer.from(data), ip, port])));
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('virtual UDP', () => {
  it('echo.test echoes a datagram with every byte value back to the sender port', async () => {
    network = new VirtualNetwork();
    const udp = await network.openUdp();
    expect(udp.localPort).toBeGreaterThanOrEqual(49152);
    const payload = Buffer.from(Uint8Array.from({ length: 1400 }, (_, i) => (i * 13) & 0xff));
    const reply = nextMessage(udp);
    udp.send(payload, '10.77.0.7', 7);
    payload.fill(0); // the datagram was copied when sent
    const [data, ip, port] = await reply;
    expect(data.equals(Buffer.from(Uint8Array.from({ length: 1400 }, (_, i) => (i * 13) & 0xff)))).toBe(true);
    expect([ip, port]).toEqual(['10.77.0.7', 7]);
  });

  it('keeps datagrams that arrive before onMessage is set', async () => {
    network = new VirtualNetwork();
    const udp = await network.openUdp(5000);
    udp.send(Buffer.from('early'), '10.77.0.7', 7);
    await tick();
    const [data] = await nextMessage(udp);
    expect(data.toString()).toBe('early');
  });

  it('datagrams to blackhole.test, closed ports and unused subnet addresses vanish', async () => {
    network = new VirtualNetwork();
    const udp = await network.openUdp();
    const got: Uint8Array[] = [];
    udp.onMessage((d) => got.push(d));
    udp.send(Buffer.from('a'), '10.77.0.66', 7);
    udp.send(Buffer.from('b'), '10.77.0.7', 9);
    udp.send(Buffer.from('c'), '10.77.0.250', 7);
    await tick();
    expect(got).toEqual([]);
  });

  it('reaches another device endpoint on the device address', async () => {
    network = new VirtualNetwork();
    const a = await network.openUdp(6000);
    const b = await network.openUdp(6001);
    const got = nextMessage(b);
    a.send(Buffer.from('hi'), network.deviceIp, 6001);
    const [data, ip, port] = await got;
    expect([data.toString(), ip, port]).toEqual(['hi', '10.77.0.2', 6000]);
  });

  it('rejects ports in use, bad arguments, oversize datagrams and off-network destinations', async () => {
    network = new VirtualNetwork();
    const udp = await network.openUdp(7000);
    await expect(network.openUdp(7000)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(network.openUdp(70000)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(() => udp.send(Buffer.alloc(1), 'echo.test', 7)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => udp.send(Buffer.alloc(65508), '10.77.0.7', 7)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => udp.send(Buffer.alloc(1), '8.8.8.8', 53)).toThrow(expect.objectContaining({ code: 'EHOSTUNREACH' }));
    udp.close();
    expect((await network.openUdp(7000)).localPort).toBe(7000);
  });
});
