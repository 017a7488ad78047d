/**
 * The hardware-in-the-loop target (`npm run test:hil`, docs/hil.md): the conformance suite against
 * one real board on NETCOPROC_PORT (a device path, rfc2217:// or socket://), driven with
 * NETCOPROC_PROTOCOL (at | slip | auto). Peers the tests start listen on this machine; the board
 * reaches them at NETCOPROC_PEER_HOST (this machine's LAN address; 127.0.0.1 when the "board" is an
 * emulator on this machine, as in CI). What needs emulator-side control is skipped with its reason.
 */
import type { Device } from '../../host-lib/index.js';
import { openDevice } from '../../index.js';
import { peerHost } from './helpers.js';
import { blackholeAt, type Target } from './targets.js';

export function hilTarget(): Target {
  const port = process.env.NETCOPROC_PORT;
  const protocol = (process.env.NETCOPROC_PROTOCOL ?? 'auto') as 'at' | 'slip' | 'auto';
  const baudRate = Number(process.env.NETCOPROC_BAUD ?? 115200);
  const lacks: Target['lacks'] = {
    'multi-device': 'one board is attached (two-board tests need the emulator or a second board)',
    forwarding: "a real board's listener is reached on its own address, not a forwarded port",
  };
  if (protocol === 'at') lacks['two-servers'] = 'ESP-AT firmware runs one TCP server (AT+CIPSERVER)';
  return {
    name: `hil/${protocol}`,
    lacks,
    // A peer on this machine that accepts nothing: the board's connect to it never completes.
    blackhole: blackholeAt(peerHost()),
    async open() {
      if (!port)
        throw new Error('NETCOPROC_PORT is not set: the serial port of the board, e.g. /dev/ttyUSB0 (see docs/hil.md)');
      // The previous test's close may still be releasing the port's lock: retry briefly.
      let dev: Device | undefined;
      for (const end = Date.now() + 3000; !dev; ) {
        try {
          dev = (await openDevice(port, { protocol, baudRate })) as unknown as Device;
        } catch (err) {
          if (!/lock/i.test(String(err)) || Date.now() > end) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      return Object.assign(dev, { done: () => dev.close() });
    },
    async pair() {
      throw new Error('hil: one board is attached; two-board tests are skipped');
    },
  };
}
