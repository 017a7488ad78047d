/**
 * Node-native benchmark rows (docs/node.md): `dev.fetch` of 1 MiB from http.test, and the MQTT
 * publish rate of mqtt.js through `dev.net` to an aedes broker on 127.0.0.1 (QoS 1, 64-byte
 * payloads, timed until every PUBACK), over SLIP and ESP-AT, unpaced in-process and paced at
 * 921600 baud through `netcoproc emulate` over socket://.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import type { Device, Driver } from '../host-lib/index.js';
import { openDevice } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from '../test/helpers/spawn-emulator.js';

export interface NodeFigures {
  protocol: 'slip' | 'at';
  transport: 'in-process' | 'socket';
  baud: number | null;
  fetch: { bytes: number; seconds: number; bytesPerSecond: number };
  mqtt: { messages: number; seconds: number; perSecond: number };
}

async function withDevice<T>(
  protocol: NodeFigures['protocol'],
  baud: number | null,
  fn: (dev: Device<Driver>) => Promise<T>,
): Promise<T> {
  let emu: SpawnedEmulator | undefined;
  let locator = 'emulator:';
  if (baud) {
    emu = await spawnEmulator(['--listen', 'tcp://127.0.0.1:0', '--protocol', protocol, '--baud', String(baud)]);
    locator = emu.url as string;
  }
  const dev = (await openDevice(locator, { protocol })) as Device<Driver>;
  try {
    return await fn(dev);
  } finally {
    await dev.close();
    await emu?.stop();
  }
}

async function fetchRate(dev: Device<Driver>, bytes: number): Promise<NodeFigures['fetch']> {
  const t0 = performance.now();
  const res = await dev.fetch(`http://http.test/bytes/${bytes}`);
  const got = (await res.arrayBuffer()).byteLength;
  const seconds = (performance.now() - t0) / 1000;
  if (got !== bytes) throw new Error(`fetch gave ${got} of ${bytes} bytes`);
  return { bytes, seconds, bytesPerSecond: bytes / seconds };
}

async function mqttRate(dev: Device<Driver>, port: number, messages: number): Promise<NodeFigures['mqtt']> {
  const client = new mqtt.Client(() => dev.net.connect(port, '127.0.0.1'), { reconnectPeriod: 0 });
  try {
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const payload = Buffer.alloc(64, 0x61);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: messages }, () => client.publishAsync('bench/node', payload, { qos: 1 })));
    const seconds = (performance.now() - t0) / 1000;
    return { messages, seconds, perSecond: messages / seconds };
  } finally {
    await client.endAsync(true);
  }
}

/** Every row: SLIP and ESP-AT, unpaced in-process and paced at 921600 over socket://. */
export async function measureNode(quick: boolean): Promise<NodeFigures[]> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const rows: NodeFigures[] = [];
  try {
    for (const protocol of ['slip', 'at'] as const) {
      for (const baud of [null, 921600]) {
        const size = baud && quick ? 256 * 1024 : 1 << 20;
        const messages = baud ? (quick ? 200 : 1000) : quick ? 1000 : 5000;
        rows.push(
          await withDevice(protocol, baud, async (dev) => ({
            protocol,
            transport: baud ? 'socket' : 'in-process',
            baud,
            fetch: await fetchRate(dev, size),
            mqtt: await mqttRate(dev, port, messages),
          })),
        );
      }
    }
  } finally {
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  }
  return rows;
}

export function printNode(f: NodeFigures): void {
  const where = `${f.protocol} ${f.transport}${f.baud ? ` @${f.baud}` : ' unpaced'}`;
  console.log(
    `Node ${where}: dev.fetch ${(f.fetch.bytes / 1024).toFixed(0)} KiB at ${(f.fetch.bytesPerSecond / 1024).toFixed(1)} KiB/s; ` +
      `mqtt.js QoS 1 publish ${f.mqtt.perSecond.toFixed(0)} msg/s (${f.mqtt.messages} messages)`,
  );
}
