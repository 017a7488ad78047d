/**
 * The TCP server (esp-at.md §2): AT+CIPSERVER, AT+CIPSERVERMAXCONN, and accepted clients as
 * links (`<id>,CONNECT`, CIPSTATE `<tetype>` 1, idle close after AT+CIPSTO seconds).
 *
 * Accepted clients come from SocketTable.listen/accept; the listener is also forwarded to a
 * loopback port of this machine (reported through `onForward`), so local programs can connect.
 */
import type { CommandName } from '../../firmware-protocol/at/index.js';
import { constants as C } from '../../firmware-protocol/index.js';
import { type AtCommand, type AtDevice, badParam, type FormHandlers, fail, fields, Superseded } from './context.js';
import { connectMessage } from './links.js';

/** ESP-AT's default server port. */
export const DEFAULT_SERVER_PORT = 333;

async function create(dev: AtDevice, cmd: AtCommand): Promise<void> {
  if (dev.settings.live.mux !== 1) throw fail('execFailed', 'AT+CIPSERVER needs AT+CIPMUX=1');
  if (dev.server) throw fail('execFailed', 'a server is already running (one only)');
  const type = String(cmd.args.type ?? 'TCP');
  if (type !== 'TCP') throw badParam(2, `${type} servers are not emulated`);
  const port = Number(cmd.args.port ?? DEFAULT_SERVER_PORT);
  const sock = dev.table.socket(C.AF_INET, C.SOCK_STREAM, C.IPPROTO_TCP);
  try {
    await dev.guard(dev.table.bind(sock, ['0.0.0.0', port]));
    const forwardPort = await dev.guard(dev.table.listen(sock, dev.settings.live.serverMaxConn));
    if (forwardPort) dev.forwarded(port, forwardPort);
  } catch (err) {
    if (err instanceof Superseded) throw err;
    dev.table.close(sock);
    throw fail('execFailed', `cannot listen on port ${port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  dev.server = { sock, port, type, caEnable: Number(cmd.args.ca_enable ?? 0) };
}

function remove(dev: AtDevice, closeAll: boolean): void {
  const server = dev.server;
  if (!server) return;
  dev.server = null;
  dev.table.close(server.sock);
  if (!closeAll) return;
  for (const link of dev.links.all()) if (link.server) dev.closeLink(link, true);
}

/**
 * SocketNotify.onAcceptable for the server socket: takes each queued connection as a link, or
 * closes it when every id is taken or AT+CIPSERVERMAXCONN is reached.
 */
export function acceptPending(dev: AtDevice, sock: number): void {
  for (let server = dev.server; server?.sock === sock; server = dev.server) {
    let got: { id: number; addr: [string, number] };
    try {
      got = dev.table.accept(sock);
    } catch {
      return; // EAGAIN: queue empty (ENFILE leaves the connection queued for later)
    }
    const id = dev.links.lowestFree();
    const serverLinks = dev.links.all().filter((l) => l.server).length;
    if (id < 0 || serverLinks >= dev.settings.live.serverMaxConn) {
      dev.table.close(got.id);
      continue;
    }
    const link = dev.links.add({
      ...{ id, sock: got.id, type: 'TCP', state: 'open', remote: got.addr },
      ...{ localPort: server.port, server: true, udpMode: 0 },
    });
    dev.say(connectMessage(dev, link));
    dev.pump(link);
  }
}

/** AT+CIPSTO: closes server links idle for longer than the timeout (0 = never). Called once a second. */
export function closeIdle(dev: AtDevice, now = Date.now()): void {
  const limit = dev.settings.live.serverTimeout * 1000;
  if (limit === 0) return;
  for (const link of dev.links.all()) if (link.server && now - link.lastActive > limit) dev.closeLink(link, true);
}

/** Server handlers. */
export const SERVER: { readonly [N in CommandName]?: FormHandlers } = {
  CIPSERVER: {
    query: (dev) => {
      const s = dev.server;
      dev.info('+CIPSERVER', s ? fields(1, s.port, s.type, s.caEnable) : '0');
    },
    set: async (dev, cmd) => {
      if (cmd.args.mode === 1) await create(dev, cmd);
      else remove(dev, cmd.args.close_all === 1);
    },
  },
  CIPSERVERMAXCONN: {
    query: (dev) => dev.info('+CIPSERVERMAXCONN', String(dev.settings.live.serverMaxConn)),
    set: (dev, cmd) => {
      if (dev.server) throw fail('execFailed', 'AT+CIPSERVERMAXCONN must come before AT+CIPSERVER=1');
      dev.settings.live.serverMaxConn = Number(cmd.args.num);
    },
  },
};
