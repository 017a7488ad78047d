/** Test data and checks shared by the suites. */
import type { Socket } from '../../host-lib/index.js';

/** n bytes where byte i = i & 0xff: every value 0x00..0xFF, incl. SLIP's C0 and DB. */
export function allBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

/** Reads exactly n bytes with recv (or fewer if the peer closes first). */
export async function recvExactly(s: Socket, n: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const c = await s.recv(Math.min(65536, n - got));
    if (c.length === 0) break;
    parts.push(c);
    got += c.length;
  }
  return Buffer.concat(parts, got);
}

/** Full-duplex echo: one task sendall()s while another recv()s on the same socket. */
export async function echoThrough(s: Socket, data: Buffer): Promise<Buffer> {
  const [, back] = await Promise.all([s.sendall(data), recvExactly(s, data.length)]);
  return back;
}

/** Splits an HTTP/1.1 response into status line and body. */
export function splitHttp(raw: Buffer): { status: string; headers: string; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, end).toString('latin1');
  return { status: headers.split('\r\n')[0] ?? '', headers, body: raw.subarray(end + 4) };
}
