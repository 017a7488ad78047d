/**
 * The live view's HTTP server, on 127.0.0.1 only: the page (`/`, `/app.js`, `/app.css`),
 * `GET /api/state` (a BoardWatch snapshot as JSON), `GET /api/events` (the same snapshots as
 * server-sent events, at most every 200 ms while something changes), and
 * `POST /api/faults/<name>` running one of the actions it was given; an unknown name is 404.
 *
 * ```ts
 * const ui = await serveUi({ port: 0, watch, actions: boardActions(emu) });
 * console.log(`ui ${ui.url}`);   // ui http://127.0.0.1:41237/
 * ```
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { BoardWatch } from '../observe/board-watch.js';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page.js';

/** A fault button: runs at once; throws to answer 409 with the message (e.g. no host to drop). */
export type UiAction = () => void;

export interface UiOptions {
  port?: number;
  watch: BoardWatch;
  actions: Record<string, UiAction>;
  /** Called after an action ran (logs). */
  onAction?: (name: string) => void;
}

export interface UiServer {
  readonly port: number;
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

const PUSH_MS = 200;
const HEARTBEAT_MS = 15_000;

const STATIC: Record<string, [string, string]> = {
  '/': ['text/html; charset=utf-8', PAGE_HTML],
  '/index.html': ['text/html; charset=utf-8', PAGE_HTML],
  '/app.js': ['text/javascript; charset=utf-8', PAGE_JS],
  '/app.css': ['text/css; charset=utf-8', PAGE_CSS],
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown): void =>
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);

/** Pushes snapshots to every open event stream, coalescing bursts of changes. */
class EventStreams {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly watch: BoardWatch) {
    watch.on('change', this.schedule);
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  add(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.clients.add(res);
    req.on('close', () => this.clients.delete(res));
    this.push(res);
  }

  readonly schedule = (): void => {
    if (this.timer || this.clients.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const c of this.clients) this.push(c);
    }, PUSH_MS);
  };

  private push(res: ServerResponse): void {
    res.write(`event: state\ndata: ${JSON.stringify(this.watch.snapshot())}\n\n`);
  }

  close(): void {
    this.watch.off('change', this.schedule);
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

function runAction(o: UiOptions, name: string, res: ServerResponse): void {
  const action = Object.hasOwn(o.actions, name) ? o.actions[name] : undefined;
  if (!action) {
    json(res, 404, { error: `unknown fault '${name}'`, faults: Object.keys(o.actions) });
    return;
  }
  try {
    action();
  } catch (err) {
    json(res, 409, { error: (err as Error).message });
    return;
  }
  o.onAction?.(name);
  o.watch.emit('change');
  json(res, 200, { ok: true, fault: name });
}

export async function serveUi(o: UiOptions): Promise<UiServer> {
  const streams = new EventStreams(o.watch);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const fault = /^\/api\/faults\/([^/]+)$/.exec(path);
    if (fault) {
      if (req.method !== 'POST') return json(res, 405, { error: 'use POST' });
      return runAction(o, decodeURIComponent(fault[1] as string), res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (path === '/api/state') return json(res, 200, o.watch.snapshot());
    if (path === '/api/events') return streams.add(req, res);
    const file = STATIC[path];
    if (file) return send(res, 200, file[0], file[1]);
    json(res, 404, { error: `no such page: ${path}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        streams.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
