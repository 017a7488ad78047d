/**
 * Basic commands (esp-at.md §2 Basic): AT, ATE0/1, AT+RST, AT+GMR, AT+RESTORE, AT+UART_CUR/DEF,
 * AT+SYSLOG, AT+SYSMSG, AT+SYSSTORE, AT+SYSRAM, AT+CMD.
 */
import { AT_COMMANDS, type CommandName, commandForms, commandText } from '../../firmware-protocol/at/index.js';
import { type AtCommand, type AtDevice, type FormHandlers, fields } from './context.js';
import type { UartConfig } from './settings.js';

const flag = (cmd: AtCommand, name: string): boolean => cmd.args[name] === 1;

function uartOf(cmd: AtCommand): UartConfig {
  const a = cmd.args as Record<string, number>;
  return {
    baudrate: a.baudrate!,
    databits: a.databits!,
    stopbits: a.stopbits!,
    parity: a.parity!,
    flowControl: a.flow_control!,
  };
}

const uartFields = (u: UartConfig) => fields(u.baudrate, u.databits, u.stopbits, u.parity, u.flowControl);

/** `+CMD:<index>,"<name>",<test>,<query>,<set>,<execute>` — one line per command this release has. */
function listCommands(dev: AtDevice): void {
  const names = (Object.keys(AT_COMMANDS) as CommandName[]).filter((n) => !dev.traits.missing.has(n));
  names.forEach((name, index) => {
    const forms = new Set(commandForms(name));
    const has = (f: 'test' | 'query' | 'set' | 'execute') => (forms.has(f) ? 1 : 0);
    dev.info('+CMD', fields(index, commandText(name), has('test'), has('query'), has('set'), has('execute')));
  });
}

/** Basic command handlers, keyed by command name and form. */
export const BASIC: { readonly [N in CommandName]?: FormHandlers } = {
  AT: { execute: () => undefined },
  ATE0: {
    execute: (dev) => {
      dev.settings.live.echo = false;
    },
  },
  ATE1: {
    execute: (dev) => {
      dev.settings.live.echo = true;
    },
  },
  RST: {
    execute: (dev) => restart(dev),
    set: (dev) => restart(dev), // AT+RST=1 (download mode) has nothing to download into here
  },
  GMR: {
    execute: (dev) => {
      dev.say(...dev.traits.gmr);
    },
  },
  RESTORE: {
    execute: (dev) => {
      dev.settings.restore();
      return restart(dev);
    },
  },
  UART_CUR: {
    query: (dev) => dev.info('+UART_CUR', uartFields(dev.settings.live.uartCur)),
    set: (dev, cmd) => {
      dev.settings.live.uartCur = uartOf(cmd);
      return okThenSwitch(dev);
    },
  },
  UART_DEF: {
    query: (dev) => dev.info('+UART_DEF', uartFields(dev.settings.live.uartDef)),
    set: (dev, cmd) => {
      const uart = uartOf(cmd);
      dev.settings.storeAlways({ uartDef: uart });
      dev.settings.live.uartCur = uart;
      return okThenSwitch(dev);
    },
  },
  SYSLOG: {
    query: (dev) => dev.info('+SYSLOG', String(dev.settings.live.syslog ? 1 : 0)),
    set: (dev, cmd) => {
      dev.settings.live.syslog = flag(cmd, 'status');
    },
  },
  SYSMSG: {
    query: (dev) => dev.info('+SYSMSG', String(dev.settings.live.sysmsg)),
    set: (dev, cmd) => dev.settings.store({ sysmsg: Number(cmd.args.state) }),
  },
  SYSSTORE: {
    query: (dev) => dev.info('+SYSSTORE', String(dev.settings.live.sysstore)),
    set: (dev, cmd) => dev.settings.store({ sysstore: flag(cmd, 'mode') ? 1 : 0 }),
  },
  SYSRAM: {
    // Free heap as a WROOM-32 running AT with a few links reports it; constant, nothing leaks here.
    query: (dev) => dev.info('+SYSRAM', fields(164_348 - dev.links.size * 6_000, 121_572)),
  },
  CMD: { query: (dev) => listCommands(dev) },
};

/** `\r\nOK\r\n` then the reboot and `\r\nready\r\n`, as AT+RST does. */
function restart(dev: AtDevice): 'done' {
  dev.say({ type: 'ok' });
  dev.reboot();
  return 'done';
}

/** The OK goes out at the old rate; then the port switches (esp-at.md §2: UART_CUR). */
function okThenSwitch(dev: AtDevice): 'done' {
  dev.say({ type: 'ok' });
  dev.uartChanged();
  return 'done';
}
