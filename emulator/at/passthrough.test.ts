/**
 * Passthrough (AT+CIPMODE=1 + AT+CIPSEND): raw bytes both ways, bulk without loss, and the
 * timed `+++` exit — pluses that break the 20 ms guard rules are data.
 */
import { afterEach, describe, it } from 'vitest';
import { bytePattern } from '../transports/index.js';
import { type AtRig, atRig, sleep, TcpPeer, until } from './test-support.js';

const OK = '\r\nOK\r\n';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function passthrough(): Promise<{ at: AtRig; peer: TcpPeer }> {
  const at = await atRig();
  const peer = await TcpPeer.listen();
  cleanups.push(
    () => at.close(),
    () => peer.close(),
  );
  await at.exchange(`AT+CIPSTART="TCP","127.0.0.1",${peer.port}\r\n`, `CONNECT\r\n${OK}`);
  await at.exchange('AT+CIPMODE=1\r\n', OK);
  await at.exchange('AT+CIPSEND\r\n', `${OK}\r\n>`);
  return { at, peer };
}

describe('passthrough', () => {
  it('carries raw bytes both ways and leaves on a timed +++, with +QUITT under SYSMSG bit0', async () => {
    const { at, peer } = await passthrough();
    at.send('AT\r\n');
    await peer.receive('AT\r\n'); // a command is just data now
    await peer.send('\r\n+IPD,1:x');
    await at.tap.expectText('\r\n+IPD,1:x'); // raw, not framed
    await sleep(30);
    at.send('+++');
    await sleep(40);
    await at.tap.expectQuiet(0);
    await at.exchange('AT+CIPSTATUS\r\n', `STATUS:3\r\n+CIPSTATUS:0,"TCP","127.0.0.1",${peer.port}`);
    await at.tap.skipTo(OK);
    await at.exchange('AT+SYSMSG=1\r\n', OK);
    await at.exchange('AT+CIPSEND\r\n', `${OK}\r\n>`); // back in, same link
    await sleep(30);
    at.send('+++');
    await at.tap.expectText('\r\n+QUITT\r\n');
    await at.exchange('AT+CIPMODE=0\r\n', OK);
    await peer.send('framed');
    await at.tap.expectText('\r\n+IPD,6:framed');
  });

  it('pluses that break the guard times are data', async () => {
    const { at, peer } = await passthrough();
    await sleep(30);
    at.send('a+++'); // no silence before
    await sleep(40);
    at.send('+');
    await sleep(35); // more than 20 ms between pluses
    at.send('+');
    await sleep(35);
    at.send('+');
    await sleep(5);
    at.send('b'); // no silence after
    await peer.receive('a++++++b');
    await sleep(30);
    at.send('++');
    await sleep(5);
    at.send('+'); // split, but within 20 ms: still the escape
    await sleep(40);
    await at.exchange('AT\r\n', OK);
  });

  it('moves 200 KB each way intact', async () => {
    const { at, peer } = await passthrough();
    const up = bytePattern(200_000);
    at.send(up);
    await peer.receive(up.toString('latin1'));
    const down = bytePattern(200_000).toString('latin1');
    await peer.send(down);
    await until(
      () => (at.tap.rest.length >= down.length ? true : undefined),
      () => `only ${at.tap.rest.length} bytes arrived`,
    );
    await at.tap.expectText(down);
    await at.tap.expectQuiet();
  });

  it('needs CIPMODE=1, a single-link board and an open link', async () => {
    const at = await atRig();
    cleanups.push(() => at.close());
    await at.exchange('AT+CIPSEND\r\n', '\r\nERROR\r\n');
    await at.exchange('AT+CIPMODE=1\r\n', OK);
    await at.exchange('AT+CIPSEND\r\n', '\r\nERROR\r\n');
    await at.exchange('AT+CIPMUX=1\r\n', '\r\nERROR\r\n');
    await at.exchange('AT+CIPSTART="UDP","echo.test",7,0,1\r\n', `CONNECT\r\n${OK}`);
    await at.exchange('AT+CIPSEND\r\n', '\r\nERROR\r\n'); // UDP passthrough needs mode 0
  });
});
