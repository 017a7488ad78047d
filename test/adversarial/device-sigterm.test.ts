/**
 * `netcoproc emulate` as a real child process shuts down cleanly at once on SIGTERM (ARCHITECTURE
 * §4) also after its host vanished — its link destroyed, no CLOSE, no goodbye — while a device
 * socket was still connected to a real TCP peer on loopback.
 *
 * The trap this keeps closed: at shutdown the device ends its connection gracefully (FIN), then
 * the network resets it; a reset after the FIN was requested fails inside libuv, so Node never
 * closed the OS handle, and the exiting process spun in its handle clean-up, deaf to SIGTERM.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Device, openDevice } from '../../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../helpers/spawn-emulator.js';

let emu: SpawnedEmulator | undefined;
let peer: net.Server | undefined;
const peerConns: net.Socket[] = [];

afterEach(async () => {
  if (emu?.proc.exitCode === null) emu.proc.kill('SIGKILL');
  for (const c of peerConns.splice(0)) c.destroy();
  await new Promise((r) => (peer ? peer.close(r) : r(undefined)));
  emu = undefined;
  peer = undefined;
});

/** A loopback peer that reads everything; resolves with its port. */
async function startPeer(): Promise<{ port: number; got: () => number; closed: Promise<void> }> {
  let got = 0;
  let onClosed: () => void = () => {};
  const closed = new Promise<void>((r) => {
    onClosed = r;
  });
  peer = net.createServer((c) => {
    peerConns.push(c);
    c.on('data', (b: Buffer) => {
      got += b.length;
    });
    c.on('error', () => {});
    c.on('close', () => onClosed());
  });
  await new Promise<void>((r) => peer?.listen(0, '127.0.0.1', () => r()));
  return { port: (peer.address() as net.AddressInfo).port, got: () => got, closed };
}

describe.each(['slip', 'at'] as const)('emulate --protocol %s, its host vanished', (protocol) => {
  it('SIGTERM with a device socket still connected to a loopback peer: exit 0 at once, the peer is closed', async () => {
    const p = await startPeer();
    emu = await spawnEmulator(['--protocol', protocol, '--listen=tcp://127.0.0.1:0']);
    const { port } = new URL((emu.url as string).replace('socket:', 'http:'));
    const link = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      link.once('connect', resolve);
      link.once('error', reject);
    });
    link.on('error', () => {});
    const dev = (await openDevice(link, { protocol })) as unknown as Device;
    dev.on('error', () => {});
    const s = await dev.socket.socket();
    s.settimeout(5);
    await s.connect(['127.0.0.1', p.port]);
    await s.sendall('hello');
    for (let i = 0; p.got() < 5 && i < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect(p.got()).toBe(5);
    link.destroy(); // the host vanishes
    await new Promise((r) => setTimeout(r, 200));
    // stop(): SIGTERM, then SIGKILL after 5 s (exit code null).
    expect(await emu.stop()).toBe(0);
    await p.closed;
  });
});
