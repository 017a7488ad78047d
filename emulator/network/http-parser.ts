/**
 * A pure, push-based HTTP/1.1 request parser (RFC 9112) for the virtual http.test service.
 * `feed(bytes)` takes any chunking of the byte stream, down to one byte at a time, and returns
 * the requests completed so far; an incomplete request simply waits for more bytes. No I/O.
 *
 * Wire example, two pipelined requests:
 *   "GET /bytes/3 HTTP/1.1\r\nHost: http.test\r\n\r\nGET / HTTP/1.1\r\nHost: http.test\r\n\r\n"
 *
 * Supported: request line, headers, Content-Length bodies, pipelining. Refused with a status:
 * header block too large (431), body too large (413), Transfer-Encoding bodies (501), HTTP
 * major version other than 1 (505), anything malformed (400). Lines end in CRLF only.
 */

/** One complete request. Header names are lower-case; repeated headers are joined with ", ". */
export interface HttpRequest {
  readonly method: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
  /** Whether the connection stays open after the response (HTTP/1.1 default, `Connection: close` ends it). */
  readonly keepAlive: boolean;
}

/** What `feed` yields. After an 'error' the parser ignores all further input. */
export type HttpParseEvent =
  | { readonly type: 'request'; readonly request: HttpRequest }
  | { readonly type: 'error'; readonly status: 400 | 413 | 431 | 501 | 505; readonly reason: string };

type HttpErrorStatus = Extract<HttpParseEvent, { type: 'error' }>['status'];

/** Limits that keep a hostile client from making the service buffer without bound. */
export interface HttpParserLimits {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
}

const DEFAULT_LIMITS: HttpParserLimits = { maxHeadBytes: 8 * 1024, maxBodyBytes: 1024 * 1024 };
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([^\s]+) HTTP\/(\d)\.(\d)$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;

class ParseFailure extends Error {
  constructor(
    readonly status: HttpErrorStatus,
    reason: string,
  ) {
    super(reason);
  }
}

type Head = Omit<HttpRequest, 'body'> & { readonly contentLength: number };

/**
 * @example
 * const parser = new HttpRequestParser();
 * parser.feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'));  // [] (incomplete)
 * parser.feed(Buffer.from('\r\n'));  // [{ type: 'request', request: { method: 'GET', target: '/', ... } }]
 */
export class HttpRequestParser {
  private state: 'head' | 'body' | 'failed' = 'head';
  /** Bytes of a head not yet terminated by an empty line (copied: the caller may reuse its chunks). */
  private partialHead: Buffer = Buffer.alloc(0);
  private head: Head | null = null;
  private bodyChunks: Buffer[] = [];
  private bodyRemaining = 0;

  constructor(private readonly limits: HttpParserLimits = DEFAULT_LIMITS) {}

  /** Consumes the next bytes of the stream and returns the events they complete. */
  feed(chunk: Uint8Array): HttpParseEvent[] {
    const events: HttpParseEvent[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      while (data.length > 0 && this.state !== 'failed') {
        data = this.state === 'head' ? this.feedHead(data, events) : this.feedBody(data, events);
      }
    } catch (err) {
      if (!(err instanceof ParseFailure)) throw err;
      this.state = 'failed';
      events.push({ type: 'error', status: err.status, reason: err.message });
    }
    return events;
  }

  /** True between requests: no partial request is buffered. */
  get idle(): boolean {
    return this.state === 'head' && this.partialHead.length === 0;
  }

  private feedHead(data: Buffer, events: HttpParseEvent[]): Buffer {
    let buf = this.partialHead.length > 0 ? Buffer.concat([this.partialHead, data]) : data;
    // RFC 9112 §2.2: ignore empty lines before a request line.
    while (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) buf = buf.subarray(2);
    const searchFrom = Math.max(0, this.partialHead.length - 3);
    const end = buf.indexOf(HEAD_END, Math.min(searchFrom, buf.length));
    if (end === -1) {
      if (buf.length > this.limits.maxHeadBytes) throw new ParseFailure(431, 'request header block too large');
      this.partialHead = Buffer.from(buf);
      return Buffer.alloc(0);
    }
    if (end + 4 > this.limits.maxHeadBytes) throw new ParseFailure(431, 'request header block too large');
    this.partialHead = Buffer.alloc(0);
    const head = parseHead(buf.subarray(0, end).toString('latin1'));
    if (head.contentLength > this.limits.maxBodyBytes) throw new ParseFailure(413, 'request body too large');
    this.startBody(head, events);
    return buf.subarray(end + 4);
  }

  private startBody(head: Head, events: HttpParseEvent[]): void {
    if (head.contentLength === 0) {
      events.push({ type: 'request', request: toRequest(head, new Uint8Array(0)) });
      return;
    }
    this.head = head;
    this.bodyRemaining = head.contentLength;
    this.state = 'body';
  }

  private feedBody(data: Buffer, events: HttpParseEvent[]): Buffer {
    const n = Math.min(this.bodyRemaining, data.length);
    this.bodyChunks.push(Buffer.from(data.subarray(0, n)));
    this.bodyRemaining -= n;
    if (this.bodyRemaining === 0) {
      events.push({ type: 'request', request: toRequest(this.head!, Buffer.concat(this.bodyChunks)) });
      this.head = null;
      this.bodyChunks = [];
      this.state = 'head';
    }
    return data.subarray(n);
  }
}

function toRequest(head: Head, body: Uint8Array): HttpRequest {
  const { contentLength: _, ...rest } = head;
  return { ...rest, body };
}

function parseHead(text: string): Head {
  const [requestLine = '', ...lines] = text.split(CRLF.toString('latin1'));
  const m = REQUEST_LINE.exec(requestLine);
  if (!m) throw new ParseFailure(400, `malformed request line ${JSON.stringify(requestLine.slice(0, 80))}`);
  const [, method = '', target = '', major, minor] = m;
  if (major !== '1') throw new ParseFailure(505, `HTTP version ${major}.${minor} not supported`);
  const version = minor === '0' ? '1.0' : '1.1';
  const headers = parseHeaders(lines);
  if (version === '1.1' && !headers.has('host')) throw new ParseFailure(400, 'HTTP/1.1 request without Host header');
  if (headers.has('transfer-encoding')) throw new ParseFailure(501, 'Transfer-Encoding request bodies not supported');
  return {
    method,
    target,
    version,
    headers,
    keepAlive: keepAlive(version, headers),
    contentLength: contentLength(headers),
  };
}

function parseHeaders(lines: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) throw new ParseFailure(400, 'obsolete header line folding');
    const m = HEADER_LINE.exec(line);
    if (!m) throw new ParseFailure(400, `malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = m[1]!.toLowerCase();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? m[2]! : `${previous}, ${m[2]}`);
  }
  return headers;
}

// RFC 9110 §8.6: a list of identical values ("5, 5") is the same length; anything else is an error.
function contentLength(headers: ReadonlyMap<string, string>): number {
  const raw = headers.get('content-length');
  if (raw === undefined) return 0;
  const values = new Set(raw.split(',').map((v) => v.trim()));
  const [value = ''] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(value))
    throw new ParseFailure(400, `bad Content-Length ${JSON.stringify(raw)}`);
  return Number(value);
}

function keepAlive(version: '1.0' | '1.1', headers: ReadonlyMap<string, string>): boolean {
  const tokens = (headers.get('connection') ?? '')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  if (tokens.includes('close')) return false;
  return version === '1.1' || tokens.includes('keep-alive');
}
