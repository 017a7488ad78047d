/**
 * Everything an ESP-AT device sends, as one discriminated union on `type`, with zod schemas
 * so tests (and cautious callers) can validate what the response parser yields.
 *
 * `link` is the connection id of the AT+CIPMUX=1 forms (`0,CONNECT`, `+IPD,0,5:`) and `null`
 * in the single-connection forms (`CONNECT`, `+IPD,5:`).
 */

import { z } from 'zod';

const link = z.number().int().min(0).nullable();
const count = z.number().int().min(0);
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');

/** Remote end reported with AT+CIPDINFO=1: `+IPD,0,5,"93.184.216.34",80:`. */
export const RemoteSchema = z.object({ ip: z.string(), port: count });
export type Remote = z.infer<typeof RemoteSchema>;

/** Station events: `WIFI CONNECTED`, `WIFI GOT IP`, `WIFI GOT IPv6 LL`/`GL`, `WIFI DISCONNECT`. */
export const WifiEventSchema = z.enum(['connected', 'got-ip', 'got-ipv6-ll', 'got-ipv6-gl', 'disconnected']);

/** A field of an info line: quoted text stays a string, a bare integer becomes a number. */
export const InfoFieldSchema = z.union([z.string(), z.number()]);
export type InfoField = z.infer<typeof InfoFieldSchema>;

const plain = <T extends string>(type: T) => z.object({ type: z.literal(type) });

/** Every message the response parser can yield. */
export const AtMessageSchema = z.discriminatedUnion('type', [
  plain('ok'), // \r\nOK\r\n
  plain('error'), // \r\nERROR\r\n
  plain('send-ok'), // \r\nSEND OK\r\n
  plain('send-fail'), // \r\nSEND FAIL\r\n
  plain('send-cancelled'), // \r\nSEND CANCELLED\r\n (AT+CIPSENDL aborted by +++)
  plain('set-ok'), // \r\nSET OK\r\n (AT+HTTPURLCFG)
  z.object({ type: z.literal('busy'), what: z.enum(['p', 's']) }), // \r\nbusy p...\r\n
  z.object({ type: z.literal('err-code'), code: z.number().int().min(0) }), // ERR CODE:0x01090000\r\n
  plain('prompt'), // \r\n> (no CRLF after the '>')
  z.object({ type: z.literal('recv'), length: count }), // \r\nRecv 4 bytes\r\n
  z.object({ type: z.literal('echo'), line: z.string() }), // AT+CIPMUX=1\r\n echoed back (ATE1)
  z.object({ type: z.literal('ipd'), link, length: count, remote: RemoteSchema.nullable(), data: bytes }),
  z.object({ type: z.literal('ipd-notify'), link, length: count, remote: RemoteSchema.nullable() }),
  z.object({ type: z.literal('recv-data'), length: count, remote: RemoteSchema.nullable(), data: bytes }),
  z.object({ type: z.literal('connect'), link }), // CONNECT\r\n | 0,CONNECT\r\n
  z.object({ type: z.literal('closed'), link }), // CLOSED\r\n | 0,CLOSED\r\n
  z.object({ type: z.literal('connect-fail'), link }), // CONNECT FAIL\r\n (older firmware)
  plain('already-connected'), // ALREADY CONNECTED\r\n
  z.object({
    type: z.literal('link-conn'), // +LINK_CONN:0,0,"TCP",1,"192.168.4.2",49469,80\r\n (AT+SYSMSG bit1)
    status: z.number().int(),
    link: count,
    protocol: z.string(),
    server: z.boolean(),
    remote: RemoteSchema,
    localPort: count,
  }),
  z.object({ type: z.literal('wifi'), event: WifiEventSchema }),
  plain('ready'), // \r\nready\r\n after boot
  plain('no-ap'), // No AP\r\n (AT+CWJAP? while not joined)
  z.object({ type: z.literal('max-conn'), count }), // Have 2 Connections\r\n
  plain('force-restart'), // \r\nWill force to restart!!!\r\n
  z.object({ type: z.literal('version'), key: z.string(), value: z.string() }), // AT version:2.2.0.0(…)\r\n
  z.object({ type: z.literal('info'), prefix: z.string(), fields: z.array(InfoFieldSchema), raw: z.string() }),
  z.object({ type: z.literal('unknown'), line: z.string() }),
  z.object({ type: z.literal('overflow'), what: z.enum(['line', 'data']), limit: count, length: count.nullable() }),
]);

/** One message from the device. */
export type AtMessage = z.infer<typeof AtMessageSchema>;
/** The `type` tags of {@link AtMessage}. */
export type AtMessageType = AtMessage['type'];
/** The member of {@link AtMessage} with the given tag. */
export type AtMessageOf<T extends AtMessageType> = Extract<AtMessage, { type: T }>;
