/**
 * One handler per SLIP RPC request opcode (SPEC §4.1): decode nothing, validate nothing (the
 * frame codec did both), just call the socket table and shape the success body.
 */
import type { RequestBody, RequestMsg, RequestOp, ResponseBody } from '../../firmware-protocol/index.js';
import { DeviceError } from '../core/device-error.js';
import type { SlipPersonality } from './personality.js';

type Handler<N extends RequestOp> = (dev: SlipPersonality, body: RequestBody<N>) => Promise<ResponseBody<N>> | ResponseBody<N>;

/** An operation the emulator does not implement yet: a clear EOPNOTSUPP, never silence. */
function notYet(op: string): () => never {
  return () => {
    throw new DeviceError('EOPNOTSUPP', `${op} is not implemented by this emulator yet`);
  };
}

const HANDLERS: { [N in RequestOp]: Handler<N> } = {
  HELLO: (dev, b) => {
    if (b.version !== 1) throw new DeviceError('EPROTONOSUPPORT', `protocol version ${b.version} not supported`);
    if (b.maxFrame < 64) throw new DeviceError('EINVAL', 'host maxFrame too small');
    return dev.startSession(b.maxFrame, b.rxWindow);
  },
  PING: (_dev, b) => ({ payload: b.payload }),
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
  SETSOCKOPT: (dev, b) => {
    dev.table.setsockopt(b.sock, b.level, b.option, b.value);
    return {};
  },
  GETADDRINFO: async (dev, b) => ({ entries: await dev.table.getaddrinfo(b.host, b.port) }),
  TLS_WRAP: notYet('TLS_WRAP'),
  FILE_WRITE: notYet('FILE_WRITE'),
  FILE_READ: notYet('FILE_READ'),
  FILE_LIST: notYet('FILE_LIST'),
  FILE_DELETE: notYet('FILE_DELETE'),
  POLL: (dev, b) => ({ entries: b.entries.map((e) => ({ sock: e.sock, events: dev.table.poll(e.sock, e.events) })) }),
};

/** Runs one request; resolves with its success body or throws DeviceError/ResolverError. */
export function runRequest(dev: SlipPersonality, req: RequestMsg): Promise<unknown> {
  const handler = HANDLERS[req.op] as Handler<RequestOp>;
  return Promise.resolve().then(() => handler(dev, req.body as never));
}
