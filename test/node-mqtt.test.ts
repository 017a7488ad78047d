/**
 * MQTT through the board: mqtt.js's documented `new mqtt.Client(streamBuilder, options)` with
 * `() => dev.net.connect(port, host)` and nothing else, against an aedes broker on 127.0.0.1.
 * Hundreds of QoS 1 messages each way, then an emulated reboot of the board: the client's own
 * reconnect (reconnectPeriod) builds a new board socket and carries on. Over SLIP and ESP-AT.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTarget, PROTOCOLS } from './helpers/node-targets.js';

let broker: Aedes;
let server: Server;
let port: number;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  server = createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
});

/** Waits for `n` messages on `client` (deadline: the test's). */
function collect(client: MqttClient, n: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) => {
    const on = (_topic: string, payload: Buffer): void => {
      got.push(payload.toString());
      if (got.length === n) {
        client.off('message', on);
        resolve(got);
      }
    };
    client.on('message', on);
  });
}

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe.each(PROTOCOLS)('mqtt.js through the board over %s', (protocol) => {
  it('300 QoS 1 messages each way, a reboot, automatic reconnect, 100 more', { timeout: 60_000 }, async () => {
    const t = await openTarget(protocol);
    const peer = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `peer-${protocol}` });
    const board = new mqtt.Client(() => t.dev.net.connect(port, '127.0.0.1'), {
      clientId: `board-${protocol}`,
      reconnectPeriod: 200,
      connectTimeout: 5000,
    });
    // mqtt.js re-emits its stream's errors: the reboot's ECONNRESET is the one expected here.
    const errors: string[] = [];
    board.on('error', (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message));
    try {
      await new Promise((r) => board.once('connect', r));
      await peer.subscribeAsync(`up/${protocol}`, { qos: 1 });
      await board.subscribeAsync(`down/${protocol}`, { qos: 1 });

      const up = collect(peer, 300);
      const down = collect(board, 300);
      await Promise.all(names('u', 300).map((m) => board.publishAsync(`up/${protocol}`, m, { qos: 1 })));
      await Promise.all(names('d', 300).map((m) => peer.publishAsync(`down/${protocol}`, m, { qos: 1 })));
      expect((await up).sort()).toEqual(names('u', 300).sort());
      expect((await down).sort()).toEqual(names('d', 300).sort());

      // The board restarts: its socket fails, mqtt.js reconnects through a new board socket.
      const closed = new Promise<void>((r) => board.once('close', () => r()));
      const reconnected = new Promise((r) => board.once('connect', r));
      t.emu.reboot();
      await closed;
      await reconnected;
      await board.subscribeAsync(`down/${protocol}`, { qos: 1 });
      const after = collect(peer, 100);
      const afterDown = collect(board, 100);
      await Promise.all(names('a', 100).map((m) => board.publishAsync(`up/${protocol}`, m, { qos: 1 })));
      await Promise.all(names('b', 100).map((m) => peer.publishAsync(`down/${protocol}`, m, { qos: 1 })));
      expect((await after).sort()).toEqual(names('a', 100).sort());
      expect((await afterDown).sort()).toEqual(names('b', 100).sort());
      expect(errors).toEqual(['ECONNRESET']);
    } finally {
      await board.endAsync(true);
      await peer.endAsync(true);
      await t.close();
    }
  });
});
