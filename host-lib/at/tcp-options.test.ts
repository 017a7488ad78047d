/**
 * TCP_NODELAY and SO_KEEPALIVE over ESP-AT, byte for byte: AT+CIPTCPOPT for the socket's link,
 * right after AT+CIPSTART when set before connect, at once when connected; nothing sent when
 * nothing changes; `<keep_alive>` only once keep-alive is involved (older firmware has 3 values).
 */
import { describe, expect, it } from 'vitest';
import { constants as C } from '../../firmware-protocol/index.js';
import { KEEPALIVE_DEFAULT_S, optionInt, TCP_OPT_DEFAULT, withOption } from './tcp-options.js';
import { OK, openFake } from './test-helpers.js';

const CONNECT = { expect: 'AT+CIPSTART=4,"TCP","10.0.0.1",80\r\n', reply: `4,CONNECT\r\n${OK}` };
const CLOSE = { expect: 'AT+CIPCLOSE=4\r\n', reply: `4,CLOSED\r\n${OK}` };

describe('AT socket options (AT+CIPTCPOPT)', () => {
  it('TCP_NODELAY set before connect is written after AT+CIPSTART, without <keep_alive>', async () => {
    const { dev, fake } = await openFake([CONNECT, { expect: 'AT+CIPTCPOPT=4,-1,1,0\r\n', reply: OK }]);
    const s = await dev.socket.socket();
    await s.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    await s.connect(['10.0.0.1', 80]);
    await fake.done(1000);
    fake.script(CLOSE);
    await s.close();
    await fake.done(1000);
    await dev.close();
  });

  it('on a connected socket: written at once, keeping the other values; a repeat sends nothing', async () => {
    const { dev, fake } = await openFake([
      CONNECT,
      { expect: 'AT+CIPTCPOPT=4,-1,1,0\r\n', reply: OK },
      { expect: 'AT+CIPTCPOPT=4,-1,1,0,5\r\n', reply: OK },
      { expect: 'AT+CIPTCPOPT=4,-1,1,0,0\r\n', reply: OK },
    ]);
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    await s.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    await s.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1); // unchanged: no command
    await s.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, 5);
    await s.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, 0);
    await fake.done(1000);
    fake.script(CLOSE);
    await s.close();
    await fake.done(1000);
    await dev.close();
  });

  it('a socket that asked for nothing gets the defaults back on an id an earlier socket changed', async () => {
    const start = (id: number) => ({
      expect: `AT+CIPSTART=${id},"TCP","10.0.0.1",80\r\n`,
      reply: `${id},CONNECT\r\n${OK}`,
    });
    const close = (id: number) => ({ expect: `AT+CIPCLOSE=${id}\r\n`, reply: `${id},CLOSED\r\n${OK}` });
    // Ids are handed out least recently used first: 4, then 3..0, then 4 again.
    const others = [3, 2, 1, 0].flatMap((id) => [start(id), close(id)]);
    const { dev, fake } = await openFake([
      start(4),
      { expect: 'AT+CIPTCPOPT=4,-1,1,0,7200\r\n', reply: OK },
      close(4),
      ...others, // default sockets on default ids: no AT+CIPTCPOPT at all
      start(4),
      { expect: 'AT+CIPTCPOPT=4,-1,0,0,0\r\n', reply: OK },
      close(4),
    ]);
    const first = await dev.socket.socket();
    await first.setsockopt(C.IPPROTO_TCP, C.TCP_NODELAY, 1);
    await first.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
    await first.connect(['10.0.0.1', 80]);
    await first.close();
    for (let i = 0; i < 5; i++) {
      const s = await dev.socket.socket();
      await s.connect(['10.0.0.1', 80]);
      await s.close();
    }
    await fake.done(1000);
    await dev.close();
  });

  it('a module that refuses the option: setsockopt raises, the connection still works', async () => {
    const { dev, fake } = await openFake([
      CONNECT,
      { expect: 'AT+CIPTCPOPT=4,-1,0,0,7200\r\n', reply: '\r\nERROR\r\n' },
      { expect: 'AT+CIPSEND=4,2\r\n', reply: `${OK}> ` },
      { expect: 'hi', reply: '\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n' },
    ]);
    const s = await dev.socket.socket();
    await s.connect(['10.0.0.1', 80]);
    await expect(s.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, 1)).rejects.toThrow();
    await s.sendall(new TextEncoder().encode('hi'));
    await fake.done(1000);
    fake.script(CLOSE);
    await s.close();
    await fake.done(1000);
    await dev.close();
  });

  it('maps values: SO_KEEPALIVE 1 is the default idle time, above 1 the seconds, capped at 7200', () => {
    const int = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, n);
      return b;
    };
    const ka = (n: number) => withOption(TCP_OPT_DEFAULT, C.SOL_SOCKET, C.SO_KEEPALIVE, int(n))?.keepAlive;
    expect([ka(0), ka(1), ka(5), ka(99999)]).toEqual([0, KEEPALIVE_DEFAULT_S, 5, 7200]);
    expect(optionInt(Uint8Array.of(1))).toBe(1);
    expect(withOption(TCP_OPT_DEFAULT, C.SOL_SOCKET, C.SO_REUSEADDR, int(1))).toBeNull();
  });
});
