/**
 * The ESP-AT command table: one declarative entry per command (forms, set-parameter
 * signatures, reply shape, default timeout, version notes). The host encoder, the emulator's
 * command parser and the host driver all read this table; nothing else lists commands.
 *
 * Ranges follow the default build (5 links: ids 0–4, 5 = "all" where documented) and
 * esp-at.md §2; where versions differ the entry takes the union and says so in `notes`.
 */

import type { AtMessageType } from './messages.js';
import type { AtForm, ParamSpec, Signature } from './params.js';

/** What one form of a command answers before its final `OK` / `ERROR`. */
export interface FormSpec {
  /** Accepted parameter lists (set form only). */
  readonly signatures?: readonly Signature[];
  /** Info-line prefixes of the reply, without the colon: `+CIPSTATE` for `+CIPSTATE:0,"TCP",…`. */
  readonly info?: readonly string[];
  /** One info line per item (links, APs, addresses) rather than exactly one. */
  readonly many?: boolean;
  /** Answers `\r\nOK\r\n\r\n>` and then takes raw payload bytes. */
  readonly prompt?: boolean;
  /** Other messages that belong to this reply, e.g. `connect` for `0,CONNECT\r\n\r\nOK\r\n`. */
  readonly also?: readonly AtMessageType[];
  /** Overrides the command's timeout for this form. */
  readonly timeoutMs?: number;
}

/** One command. `basic` commands are written without `+`: `AT`, `ATE0`. */
export interface CommandSpec {
  readonly basic?: boolean;
  readonly forms: { readonly [F in AtForm]?: FormSpec };
  /** How long a host should wait for the final result by default. */
  readonly timeoutMs: number;
  readonly notes?: string;
}

const int = (name: string, min: number, max: number): ParamSpec => ({ name, type: 'int', min, max });
const str = (name: string, maxBytes?: number): ParamSpec => ({ name, type: 'string', maxBytes });
const oneOf = (name: string, values: readonly string[]): ParamSpec => ({ name, type: 'string', oneOf: values });
const opt = (p: ParamSpec): ParamSpec => ({ ...p, optional: true });
const sig = (...params: ParamSpec[]): Signature => ({ params });
const mux0 = (...params: ParamSpec[]): Signature => ({ mux: 0, params });
const mux1 = (...params: ParamSpec[]): Signature => ({ mux: 1, params });
const flag = (name: string) => int(name, 0, 1);
/** Query `+NAME:<v>` plus set `AT+NAME=<v>` — the shape of most switches. */
const setting = (info: string, ...params: ParamSpec[]) => ({
  query: { info: [info] },
  set: { signatures: [sig(...params)] },
});

const DEFAULT_MS = 2_000;
const LINK = int('link_id', 0, 4);
const LINK_OR_ALL = int('link_id', 0, 5);
const HOST = str('remote_host', 64);
const REMOTE_PORT = int('remote_port', 1, 65535);
const TIMEOUT = opt(int('timeout', 0, 60_000));
const MAX_U31 = 0x7fffffff;

const TCP_TYPES = ['TCP', 'TCPv6', 'SSL', 'SSLv6'];
const TCP_SSL = [
  oneOf('type', TCP_TYPES),
  HOST,
  REMOTE_PORT,
  opt(int('keep_alive', 0, 7200)),
  opt(str('local_ip')),
  TIMEOUT,
];
const UDP = [
  oneOf('type', ['UDP', 'UDPv6']),
  HOST,
  REMOTE_PORT,
  opt(int('local_port', 0, 65535)),
  opt(int('mode', 0, 2)),
  opt(str('local_ip')),
  TIMEOUT,
];
const SEND_LEN = int('length', 1, 8192);
const SEND_SIGS = [
  mux0(SEND_LEN),
  mux0(SEND_LEN, HOST, REMOTE_PORT),
  mux1(LINK, SEND_LEN),
  mux1(LINK, SEND_LEN, HOST, REMOTE_PORT),
];
const UART = [
  int('baudrate', 80, 5_000_000),
  int('databits', 5, 8),
  int('stopbits', 1, 3),
  int('parity', 0, 2),
  int('flow_control', 0, 3),
];
const SSLC_CONF = [int('auth_mode', 0, 3), opt(int('pki_number', 0, 255)), opt(int('ca_number', 0, 255))];
const ALPN = [int('counts', 0, 5), ...[1, 2, 3, 4, 5].map((n) => opt(str(`alpn${n}`)))];
const CWJAP_PARAMS = [
  opt(str('ssid', 32)),
  opt(str('pwd', 64)),
  opt(str('bssid')),
  opt(flag('pci_en')),
  opt(int('reconn_interval', 0, 7200)),
  opt(int('listen_interval', 1, 100)),
  opt(flag('scan_mode')),
  opt(int('jap_timeout', 3, 600)),
  opt(int('pmf', 0, 3)),
];
const STARTED = ['connect', 'link-conn', 'closed', 'already-connected', 'connect-fail'] as const;
const JOINED = ['wifi'] as const;

/** The command table, keyed by name as written after `AT+` (basic commands: the whole word). */
export const AT_COMMANDS = {
  AT: { basic: true, forms: { execute: {} }, timeoutMs: DEFAULT_MS },
  ATE0: {
    basic: true,
    forms: { execute: {} },
    timeoutMs: DEFAULT_MS,
    notes: 'Echo off; its own line is still echoed.',
  },
  ATE1: { basic: true, forms: { execute: {} }, timeoutMs: DEFAULT_MS, notes: 'Echo on (default; not persisted).' },
  RST: {
    forms: { execute: { also: ['ready'] }, set: { signatures: [sig(flag('mode'))], also: ['ready'] } },
    timeoutMs: DEFAULT_MS,
    notes: 'OK, then reboot and \\r\\nready\\r\\n. Set form AT+RST=<0|1> only on ESP32-C2/C3 (1 = download mode).',
  },
  GMR: { forms: { execute: { also: ['version'] } }, timeoutMs: DEFAULT_MS, notes: 'AT/SDK/compile/Bin version lines.' },
  RESTORE: { forms: { execute: { also: ['ready'] } }, timeoutMs: 5_000, notes: 'Factory reset, then reboot.' },
  UART_CUR: { forms: setting('+UART_CUR', ...UART), timeoutMs: DEFAULT_MS, notes: 'OK is sent at the old baud rate.' },
  UART_DEF: { forms: setting('+UART_DEF', ...UART), timeoutMs: DEFAULT_MS, notes: 'Like UART_CUR, saved to NVS.' },
  SYSLOG: { forms: setting('+SYSLOG', flag('status')), timeoutMs: DEFAULT_MS, notes: '1 → ERR CODE: before ERROR.' },
  SYSMSG: {
    forms: setting('+SYSMSG', int('state', 0, 255)),
    timeoutMs: DEFAULT_MS,
    notes: 'bit0 +QUITT, bit1 +LINK_CONN instead of x,CONNECT, bit2 messages in passthrough; newer builds add bits.',
  },
  SYSSTORE: { forms: setting('+SYSSTORE', flag('mode')), timeoutMs: DEFAULT_MS, notes: 'Default 1 (persist).' },
  SYSRAM: { forms: { query: { info: ['+SYSRAM'] } }, timeoutMs: DEFAULT_MS },
  CMD: { forms: { query: { info: ['+CMD'], many: true } }, timeoutMs: 5_000, notes: 'Lists supported commands.' },
  CWMODE: {
    forms: { test: { info: ['+CWMODE'] }, ...setting('+CWMODE', int('mode', 0, 3), opt(flag('auto_connect'))) },
    timeoutMs: DEFAULT_MS,
    notes: 'Test form answer +CWMODE:(0-3) is from older docs [unverified].',
  },
  CWJAP: {
    forms: {
      query: { info: ['+CWJAP'], also: ['no-ap'] },
      set: { signatures: [{ params: CWJAP_PARAMS, minCount: 2 }], info: ['+CWJAP'], also: JOINED },
      execute: { info: ['+CWJAP'], also: JOINED },
    },
    timeoutMs: 20_000,
    notes:
      'Failure: +CWJAP:<1 timeout|2 password|3 no AP|4 failed>\\r\\n\\r\\nERROR. Query has fewer fields on old builds.',
  },
  CWQAP: { forms: { execute: { also: JOINED } }, timeoutMs: 5_000 },
  CWSTATE: { forms: { query: { info: ['+CWSTATE'] } }, timeoutMs: DEFAULT_MS },
  CWLAP: {
    forms: {
      execute: { info: ['+CWLAP'], many: true },
      set: {
        signatures: [
          sig(...['ssid', 'mac'].map((n) => opt(str(n))), opt(int('channel', 1, 14)), opt(flag('scan_type'))),
        ],
        info: ['+CWLAP'],
        many: true,
      },
    },
    timeoutMs: 10_000,
    notes: 'Lines look like +CWLAP:(3,"ap",-62,"30:7b:ac:69:41:90",1,-24,0,4,4,7,0).',
  },
  CIFSR: { forms: { execute: { info: ['+CIFSR'], many: true } }, timeoutMs: DEFAULT_MS },
  CIPSTA: {
    forms: {
      query: { info: ['+CIPSTA'], many: true },
      set: { signatures: [sig(str('ip')), sig(str('ip'), str('gateway'), str('netmask'))] },
    },
    timeoutMs: DEFAULT_MS,
    notes: 'Query lines are +CIPSTA:ip:"a.b.c.d", +CIPSTA:gateway:"…", +CIPSTA:netmask:"…".',
  },
  CIPV6: { forms: setting('+CIPV6', flag('enable')), timeoutMs: DEFAULT_MS },
  CIPMUX: { forms: setting('+CIPMUX', flag('mode')), timeoutMs: DEFAULT_MS, notes: 'Only with no link open.' },
  CIPSTART: {
    forms: {
      test: {},
      set: { signatures: [mux1(LINK, ...TCP_SSL), mux1(LINK, ...UDP), mux0(...TCP_SSL), mux0(...UDP)], also: STARTED },
    },
    timeoutMs: 20_000,
    notes: '<timeout> is v4.1.0.0+. UDP <mode> needs <local_port>. SSL handshakes take 10 s per packet at most.',
  },
  CIPSTARTEX: {
    forms: { set: { signatures: [sig(...TCP_SSL), sig(...UDP)], also: STARTED } },
    timeoutMs: 20_000,
    notes: 'Like CIPSTART without <link_id>; the firmware picks the id and reports it in <id>,CONNECT.',
  },
  CIPSEND: {
    forms: { test: {}, set: { signatures: SEND_SIGS, prompt: true }, execute: { prompt: true } },
    timeoutMs: 5_000,
    notes:
      'Then \\r\\nRecv N bytes\\r\\n and \\r\\nSEND OK|SEND FAIL\\r\\n. Max 2048 on old builds. Execute = passthrough.',
  },
  CIPSENDEX: {
    forms: { set: { signatures: SEND_SIGS, prompt: true } },
    timeoutMs: 5_000,
    notes: 'Payload ends early at backslash-zero and collapses every \\<c> to <c>: not binary-safe.',
  },
  CIPCLOSE: {
    forms: { test: {}, execute: { also: ['closed'] }, set: { signatures: [sig(LINK_OR_ALL)], also: ['closed'] } },
    timeoutMs: 5_000,
    notes: 'Id 5 closes all links.',
  },
  CIPSTATE: { forms: { query: { info: ['+CIPSTATE'], many: true } }, timeoutMs: DEFAULT_MS },
  CIPSTATUS: {
    forms: { execute: { info: ['STATUS', '+CIPSTATUS'], many: true } },
    timeoutMs: DEFAULT_MS,
    notes: 'Deprecated since v2.4 docs, dropped from v4.1 docs; STATUS:<stat> is unreliable.',
  },
  CIPSERVER: {
    forms: {
      query: { info: ['+CIPSERVER'] },
      set: {
        signatures: [
          sig(
            int('mode', 1, 1),
            opt(int('port', 1, 65535)),
            opt(oneOf('type', TCP_TYPES)),
            opt(flag('ca_enable')),
            opt(int('netif', 0, 3)),
          ),
          sig(int('mode', 0, 0), opt(flag('close_all'))),
        ],
      },
    },
    timeoutMs: DEFAULT_MS,
    notes: 'Needs CIPMUX=1, one server only. Default port 333. <netif> 0 all, 1 sta, 2 ap, 3 eth.',
  },
  CIPSERVERMAXCONN: { forms: setting('+CIPSERVERMAXCONN', int('num', 1, 5)), timeoutMs: DEFAULT_MS },
  CIPSTO: {
    forms: setting('+CIPSTO', int('time', 0, 7200)),
    timeoutMs: DEFAULT_MS,
    notes: 'Default 180 [unverified].',
  },
  CIPMODE: { forms: setting('+CIPMODE', flag('mode')), timeoutMs: DEFAULT_MS, notes: '1 = passthrough, single link.' },
  CIPDINFO: { forms: setting('+CIPDINFO', flag('mode')), timeoutMs: DEFAULT_MS, notes: 'Query prints true|false.' },
  CIPRECVTYPE: {
    forms: {
      query: { info: ['+CIPRECVTYPE'], many: true },
      set: { signatures: [mux0(flag('mode')), mux1(LINK_OR_ALL, flag('mode'))] },
    },
    timeoutMs: DEFAULT_MS,
    notes: 'v3.3.0.0+, per link. Older firmware: AT+CIPRECVMODE.',
  },
  CIPRECVMODE: {
    forms: setting('+CIPRECVMODE', flag('mode')),
    timeoutMs: DEFAULT_MS,
    notes: 'Global passive-receive switch of firmware up to v3.2.x.',
  },
  CIPRECVLEN: {
    forms: { query: { info: ['+CIPRECVLEN'] } },
    timeoutMs: DEFAULT_MS,
    notes: 'MUX=1: +CIPRECVLEN:654,-1,-1,-1,-1 (-1 = link not open); MUX=0: +CIPRECVLEN:<len>.',
  },
  CIPRECVDATA: {
    forms: {
      set: { signatures: [mux0(int('len', 1, MAX_U31)), mux1(LINK, int('len', 1, MAX_U31))], also: ['recv-data'] },
    },
    timeoutMs: 5_000,
    notes: 'Reply +CIPRECVDATA:<actual>[,"ip",port],<raw bytes>; trust only <actual> (SSL).',
  },
  CIPDOMAIN: {
    forms: {
      set: {
        signatures: [sig(str('domain'), opt(int('ip_network', 1, 3)), TIMEOUT, opt(flag('show_all_ip')))],
        info: ['+CIPDOMAIN'],
      },
    },
    timeoutMs: 10_000,
    notes: 'v2.2+ quotes the IP. <timeout> v4.1.0.0+, <show_all_ip> master only.',
  },
  CIPDNS: {
    forms: setting('+CIPDNS', flag('enable'), ...['dns_server', 'dns_server2', 'dns_server3'].map((n) => opt(str(n)))),
    timeoutMs: DEFAULT_MS,
  },
  PING: { forms: { set: { signatures: [sig(str('host'))], info: ['+PING'] } }, timeoutMs: 10_000 },
  CIPSNTPCFG: {
    forms: setting(
      '+CIPSNTPCFG',
      flag('enable'),
      opt(int('timezone', -1200, 1400)),
      ...['server1', 'server2', 'server3'].map((n) => opt(str(n))),
    ),
    timeoutMs: DEFAULT_MS,
    notes: 'Timezone is -12..14 or ±hhmm. +TIME_UPDATED arrives later.',
  },
  CIPSNTPTIME: { forms: { query: { info: ['+CIPSNTPTIME'] } }, timeoutMs: DEFAULT_MS },
  CIPTCPOPT: {
    forms: {
      query: { info: ['+CIPTCPOPT'], many: true },
      set: {
        signatures: [0, 1].map((m) => ({
          mux: m as 0 | 1,
          params: [
            ...(m === 1 ? [LINK_OR_ALL] : []),
            opt(int('so_linger', -1, 65535)),
            opt(flag('tcp_nodelay')),
            opt(int('so_sndtimeo', 0, MAX_U31)),
            opt(int('keep_alive', 0, 7200)),
          ],
        })),
      },
    },
    timeoutMs: DEFAULT_MS,
  },
  CIPSSLCCONF: {
    forms: {
      query: { info: ['+CIPSSLCCONF'], many: true },
      set: { signatures: [mux0(...SSLC_CONF), mux1(LINK_OR_ALL, ...SSLC_CONF)] },
    },
    timeoutMs: DEFAULT_MS,
    notes: 'Ambiguous without the MUX mode (AT+CIPSSLCCONF=1,2): give the parser/encoder `mux`.',
  },
  CIPSSLCSNI: {
    forms: {
      query: { info: ['+CIPSSLCSNI'], many: true },
      set: { signatures: [mux0(str('sni')), mux1(LINK_OR_ALL, str('sni'))] },
    },
    timeoutMs: DEFAULT_MS,
  },
  CIPSSLCALPN: {
    forms: {
      query: { info: ['+CIPSSLCALPN'], many: true },
      set: { signatures: [mux0(...ALPN), mux1(LINK_OR_ALL, ...ALPN)] },
    },
    timeoutMs: DEFAULT_MS,
  },
} as const satisfies Record<string, CommandSpec>;

/** A command name from the table: `'CIPSTART'`, `'AT'`, `'ATE0'`. */
export type CommandName = keyof typeof AT_COMMANDS;

/** Looks a name up without trusting it (garbage like `__proto__` finds nothing). */
export function findCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(AT_COMMANDS, name) ? (AT_COMMANDS as Record<string, CommandSpec>)[name] : undefined;
}

/** The forms a command supports, e.g. `commandForms('CIPMUX')` → `['query', 'set']`. */
export function commandForms(name: CommandName): AtForm[] {
  return Object.keys(AT_COMMANDS[name].forms) as AtForm[];
}

/** The command text as written on the wire, without form or parameters: `AT+CIPSTART`, `ATE0`. */
export function commandText(name: CommandName): string {
  const spec: CommandSpec = AT_COMMANDS[name];
  return spec.basic ? name : `AT+${name}`;
}
