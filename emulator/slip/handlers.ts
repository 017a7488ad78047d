/**
 * One handler per SLIP RPC request opcode (SPEC §4.1): decode nothing, validate nothing (the
 * frame codec did both), just call the socket table and shape the success body.
 */
import type { RequestBody, RequestMsg, RequestOp, ResponseBody } from '../../firmware-protocol/index.js';
import { DeviceError } from '../core/device-error.js';
import type { SocketTable } from '../core/socket-table.js';
import { tlsConfig } from '../core/tls.js';
import type { FileEntry, FileStore } from '../files/index.js';

/** What the request handlers need of the board (personality.ts's SlipBoard has it). */
export interface SlipBoard {
  readonly table: SocketTable;
  readonly files: FileStore | undefined;
  /** This boot's nonce: the answer to an empty PING (SPEC rev 1.1). */
  readonly bootNonce: Uint8Array;
  /** Largest data a response may carry. */
  readonly maxResponseData: number;
  startSession(hostMaxFrame: number, rxWindow: number): ResponseBody<'HELLO'>;
  listen(id: number, backlog: number): Promise<number>;
  openCredit(id: number): void;
  forget(id: number): void;
  onReadable(id: number): void;
  emit(event: 'uart-config', config: RequestBody<'UART_CONFIG'>): boolean;
}

type Handler<N extends RequestOp> = (
  dev: SlipBoard,
  body: RequestBody<N>,
) => Promise<ResponseBody<N>> | ResponseBody<N>;

/** The board's file store, or EOPNOTSUPP on a board without one (SPEC §4.1). */
function storeOf(dev: SlipBoard): FileStore {
  if (!dev.files) throw new DeviceError('EOPNOTSUPP', 'this board has no file store');
  return dev.files;
}

const utf8 = new TextEncoder();

/** FILE_LIST entries; a directory's name ends in '/' (SPEC §4.5). The answer must fit one frame. */
function listEntries(entries: readonly FileEntry[], room: number): ResponseBody<'FILE_LIST'>['entries'] {
  const out = entries.map((e) => ({ name: e.dir ? `${e.name}/` : e.name, size: e.size }));
  const bytes = out.reduce((n, e) => n + 5 + utf8.encode(e.name).length, 1);
  if (bytes > room) throw new DeviceError('EMSGSIZE', `the listing (${bytes} bytes) does not fit the host's frames`);
  return out;
}

const HANDLERS: { [N in RequestOp]: Handler<N> } = {
  HELLO: (dev, b) => {
    if (b.version !== 1) throw new DeviceError('EPROTONOSUPPORT', `protocol version ${b.version} not supported`);
    if (b.maxFrame < 64) throw new DeviceError('EINVAL', 'host maxFrame too small');
    return dev.startSession(b.maxFrame, b.rxWindow);
  },
  // SPEC §4.4 (rev 1.1): an empty PING is the host's keep-alive; the nonce tells it which boot answers.
  PING: (dev, b) => ({ payload: b.payload.length === 0 ? dev.bootNonce : b.payload }),
  UART_CONFIG: (dev, b) => {
    if (b.baudRate < 300 || b.baudRate > 5_000_000)
      throw new DeviceError('EINVAL', `baud rate ${b.baudRate} out of range`);
    if (b.dataBits < 5 || b.dataBits > 8) throw new DeviceError('EINVAL', `data bits ${b.dataBits} (5-8)`);
    if (b.parity > 4) throw new DeviceError('EINVAL', `parity ${b.parity} (0 none, 1 odd, 2 even, 3 mark, 4 space)`);
    if (b.stopBits !== 1 && b.stopBits !== 2) throw new DeviceError('EINVAL', `stop bits ${b.stopBits} (1 or 2)`);
    // The answer still goes out at the old settings; the switch happens right after it.
    queueMicrotask(() => dev.emit('uart-config', { ...b }));
    return {};
  },
  SOCKET: (dev, b) => {
    const sock = dev.table.socket(b.family, b.type, b.proto);
    dev.openCredit(sock);
    return { sock };
  },
  CLOSE: (dev, b) => {
    dev.table.close(b.sock);
    dev.forget(b.sock);
    return {};
  },
  BIND: async (dev, b) => ({ addr: await dev.table.bind(b.sock, b.addr) }),
  LISTEN: async (dev, b) => ({ forwardPort: await dev.listen(b.sock, b.backlog) }),
  ACCEPT: (dev, b) => {
    const r = dev.table.accept(b.sock);
    dev.openCredit(r.id);
    // Bytes may already wait on the new connection: push them once the host knows the id.
    queueMicrotask(() => dev.onReadable(r.id));
    return { sock: r.id, addr: r.addr };
  },
  CONNECT: async (dev, b) => {
    const r = await dev.table.connect(b.sock, b.addr);
    if (r === 'inprogress') throw new DeviceError('EINPROGRESS');
    return {};
  },
  SEND: async (dev, b) => ({ count: await dev.table.send(b.sock, b.data) }),
  SENDTO: async (dev, b) => ({ count: await dev.table.sendto(b.sock, b.data, b.addr) }),
  // SPEC rev 1.2 half-close: the FIN follows the earlier SENDs, which the table already handed to the stream.
  SHUTDOWN: (dev, b) => {
    dev.table.shutdown(b.sock, b.how);
    return {};
  },
  SETSOCKOPT: (dev, b) => {
    dev.table.setsockopt(b.sock, b.level, b.option, b.value);
    return {};
  },
  // SPEC §4.4: type 0 is reported as SOCK_STREAM/IPPROTO_TCP, SOCK_DGRAM as asked (lwIP honours the hint).
  GETADDRINFO: async (dev, b) => {
    const entries = await dev.table.getaddrinfo(b.host, b.port);
    return { entries: b.type === 2 ? entries.map((e) => ({ ...e, type: 2, proto: 17 })) : entries };
  },
  // SPEC §4.5: options of an IPPROTO_SEC socket; the files are read now, the handshake runs in CONNECT.
  TLS_WRAP: async (dev, b) => {
    if (!dev.table.profile.tlsOnDevice) throw new DeviceError('EOPNOTSUPP', 'this board does no TLS itself');
    dev.table.get(b.sock); // EBADF before any file is read
    const config = await tlsConfig(dev.files, { ...b, serverSide: b.serverSide !== 0 });
    dev.table.tlsWrap(b.sock, config);
    return {};
  },
  FILE_WRITE: async (dev, b) => {
    await storeOf(dev).write(b.path, b.data, { offset: b.offset, truncate: b.truncate !== 0 });
    return {};
  },
  FILE_READ: async (dev, b) => ({
    data: await storeOf(dev).read(b.path, b.offset, Math.min(b.length, dev.maxResponseData)),
  }),
  FILE_LIST: async (dev, b) => ({ entries: listEntries(await storeOf(dev).list(b.dir), dev.maxResponseData) }),
  FILE_DELETE: async (dev, b) => {
    await storeOf(dev).remove(b.path);
    return {};
  },
  FILE_RENAME: async (dev, b) => {
    await storeOf(dev).rename(b.from, b.to);
    return {};
  },
  POLL: (dev, b) => ({ entries: b.entries.map((e) => ({ sock: e.sock, events: dev.table.poll(e.sock, e.events) })) }),
};

/**
 * Runs one request; resolves with its success body or rejects with DeviceError/ResolverError.
 * The handler starts synchronously, so pipelined requests take effect in arrival order
 * (a SOCKET right behind a HELLO sees the new session).
 */
export function runRequest(dev: SlipBoard, req: RequestMsg): Promise<unknown> {
  const handler = HANDLERS[req.op] as Handler<RequestOp>;
  try {
    return Promise.resolve(handler(dev, req.body as never));
  } catch (err) {
    return Promise.reject(err);
  }
}
