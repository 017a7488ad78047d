import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONTROL,
  encodeComPort,
  encodeNegotiation,
  escapeIac,
  TelnetDecoder,
} from '../../firmware-protocol/rfc2217.js';
import { listenRfc2217, type Rfc2217Transport } from './rfc2217.js';
import { chipEnabled, type PortChange, Rfc2217Session, type SessionEvent } from './rfc2217-session.js';
import { BUSY_NOTE } from './tcp.js';
import { bytePattern, collect, createLoopbackUart, firstMismatch } from './testing.js';

const hex = (parts: Uint8Array[]): string => Buffer.concat(parts).toString('hex');
const control = (v: number): Uint8Array => encodeComPort('SET-CONTROL', v);
const changes = (events: SessionEvent[]): string[] =>
  events.flatMap((e) =>
    e.type === 'change' ? [`${e.change.key}=${e.change.value}`] : e.type === 'reset' ? ['reset'] : [],
  );

describe('Rfc2217Session (pure)', () => {
  it('offers BINARY, answers WILL COM-PORT-OPTION with DO and a modem-state notification', () => {
    const s = new Rfc2217Session();
    expect(hex(s.start())).toBe('fffd00fffb00'); // DO BINARY, WILL BINARY
    const out = s.push(encodeNegotiation('WILL', 44));
    expect(hex(out.replies)).toBe(`fffd2c${'fffa2c6b30fff0'}`); // DO 44; NOTIFY-MODEMSTATE 107 = CTS|DSR
    expect(out.events).toEqual([{ type: 'com-port' }]);
    expect(hex(s.push(encodeNegotiation('DO', 1)).replies)).toBe('fffc01'); // ECHO: we don't
  });

  it('acks each setting with code + 100 and the value in force, reporting only real changes', () => {
    const s = new Rfc2217Session();
    const out = s.push(
      Buffer.concat([
        encodeComPort('SET-BAUDRATE', 115200), // unchanged
        encodeComPort('SET-BAUDRATE', 921600),
        encodeComPort('SET-DATASIZE', 7),
        encodeComPort('SET-PARITY', 3),
        encodeComPort('SET-STOPSIZE', 3),
        control(CONTROL.FLOW_HARDWARE),
      ]),
    );
    expect(hex(out.replies)).toBe(
      hex([
        encodeComPort('SET-BAUDRATE', 115200, true),
        encodeComPort('SET-BAUDRATE', 921600, true),
        encodeComPort('SET-DATASIZE', 7, true),
        encodeComPort('SET-PARITY', 3, true),
        encodeComPort('SET-STOPSIZE', 3, true),
        encodeComPort('SET-CONTROL', CONTROL.FLOW_HARDWARE, true),
      ]),
    );
    expect(changes(out.events)).toEqual([
      'baudRate=921600',
      'dataBits=7',
      'parity=even',
      'stopBits=1.5',
      'flowControl=hardware',
    ]);
    expect(s.settings).toMatchObject({ baudRate: 921600, dataBits: 7, parity: 'even', stopBits: 1.5 });
  });

  it('answers queries and refuses bad values with the value in force', () => {
    const s = new Rfc2217Session();
    const out = s.push(
      Buffer.concat([encodeComPort('SET-BAUDRATE', 0), encodeComPort('SET-DATASIZE', 9), control(CONTROL.REQ_DTR)]),
    );
    expect(hex(out.replies)).toBe(
      hex([
        encodeComPort('SET-BAUDRATE', 115200, true),
        encodeComPort('SET-DATASIZE', 8, true),
        encodeComPort('SET-CONTROL', CONTROL.DTR_OFF, true),
      ]),
    );
    expect(changes(out.events)).toEqual([]);
  });

  it('opening like pyserial (DTR on, RTS on) does not reset; the esptool RTS pulse does', () => {
    const s = new Rfc2217Session();
    const open = s.push(Buffer.concat([control(CONTROL.DTR_ON), control(CONTROL.RTS_ON)]));
    expect(changes(open.events)).toEqual(['dtr=true', 'rts=true']);
    // esptool hard reset: DTR released, RTS asserted (EN low) ... RTS released (EN high → boot).
    const hold = s.push(Buffer.concat([control(CONTROL.DTR_OFF), control(CONTROL.RTS_ON)]));
    expect(changes(hold.events)).toEqual(['dtr=false']);
    expect(chipEnabled(s.settings)).toBe(false);
    expect(changes(s.push(control(CONTROL.RTS_OFF)).events)).toEqual(['rts=false', 'reset']);
  });

  it('a host leaving while it holds the chip in reset releases it (lines drop)', () => {
    const s = new Rfc2217Session();
    s.push(control(CONTROL.RTS_ON));
    expect(changes(s.hangUp())).toEqual(['rts=false', 'reset']);
  });

  it('reports purge, break and flow suspend; strips IAC doubling from data', () => {
    const s = new Rfc2217Session();
    const out = s.push(
      Buffer.concat([
        encodeComPort('PURGE-DATA', 3),
        control(CONTROL.BREAK_ON),
        encodeComPort('FLOWCONTROL-SUSPEND', null),
        escapeIac(Uint8Array.of(1, 0xff, 2)),
      ]),
    );
    expect(out.events.map((e) => e.type)).toEqual(['purge', 'change', 'suspend']);
    expect(hex(out.data)).toBe('01ff02');
  });
});

const transports: Rfc2217Transport[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

async function client(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  clients.push(socket);
  await once(socket, 'connect');
  return socket;
}

describe('listenRfc2217', () => {
  it('carries all byte values through a loopback UART with IAC doubled on the wire, and reports changes', async () => {
    const seen: PortChange[] = [];
    const resets: number[] = [];
    const t = await listenRfc2217(createLoopbackUart(), {
      onChange: (c) => seen.push(c),
      onReset: () => resets.push(1),
    });
    transports.push(t);
    expect(t.url).toBe(`rfc2217://127.0.0.1:${t.port}`);
    const sock = await client(t.port);
    const decoder = new TelnetDecoder();
    const echoedParts: Uint8Array[] = [];
    let echoedLength = 0;
    sock.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk)) {
        if (item.type !== 'data') continue;
        echoedParts.push(item.data);
        echoedLength += item.data.length;
      }
    });
    const data = bytePattern(64 * 1024);
    sock.write(encodeNegotiation('WILL', 44));
    sock.write(escapeIac(data));
    sock.write(
      Buffer.concat([control(CONTROL.RTS_ON), control(CONTROL.RTS_OFF), encodeComPort('SET-BAUDRATE', 921600)]),
    );
    const deadline = Date.now() + 5000;
    while ((echoedLength < data.length || seen.length < 3) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    const echoed = Buffer.concat(echoedParts);
    expect(firstMismatch(echoed, data)).toBe(-1);
    expect(seen.map((c) => `${c.key}=${c.value}`)).toEqual(['rts=true', 'rts=false', 'baudRate=921600']);
    expect(resets).toEqual([1]);
    expect(t.settings.baudRate).toBe(921600);
  });

  it('refuses a second host with a note, like the raw TCP port', async () => {
    const t = await listenRfc2217(createLoopbackUart());
    transports.push(t);
    await client(t.port);
    const second = await client(t.port);
    const rx = collect(second);
    await once(second, 'close');
    expect(rx.take().toString()).toBe(BUSY_NOTE);
    expect(t.attached).toBe(true);
  });
});
