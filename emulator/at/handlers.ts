/**
 * The one declarative handler table of the ESP-AT personality: command name → form → handler,
 * merged from the feature files. The grammar (forms, parameters, ranges) is the shared
 * AT_COMMANDS table, so a handler only ever sees well-formed input.
 */
import type { AtForm, CommandName } from '../../firmware-protocol/at/index.js';
import { BASIC } from './basic.js';
import type { AtHandler, FormHandlers } from './context.js';
import { LINKS } from './links.js';
import { NET_SERVICES } from './net-services.js';
import { PASSTHROUGH } from './passthrough.js';
import { RECEIVE } from './receive.js';
import { SEND } from './send.js';
import { SERVER } from './server.js';
import { SSL_CONFIG } from './ssl-config.js';
import type { VersionTraits } from './versions.js';
import { WIFI } from './wifi.js';

type HandlerTable = { readonly [N in CommandName]?: FormHandlers };

/** Merges feature tables form by form; two files claiming one form is a bug, caught at load. */
function merge(...tables: HandlerTable[]): HandlerTable {
  const out: Partial<Record<CommandName, Partial<Record<AtForm, AtHandler>>>> = {};
  for (const table of tables) {
    for (const [name, forms] of Object.entries(table) as [CommandName, FormHandlers][]) {
      const into = out[name] ?? {};
      out[name] = into;
      for (const [form, handler] of Object.entries(forms) as [AtForm, AtHandler][]) {
        if (into[form]) throw new Error(`two handlers for ${name} ${form}`);
        into[form] = handler;
      }
    }
  }
  return out;
}

/** Every handler, by command and form. */
export const HANDLERS: HandlerTable = merge(
  BASIC,
  WIFI,
  LINKS,
  SEND,
  PASSTHROUGH,
  RECEIVE,
  SERVER,
  NET_SERVICES,
  SSL_CONFIG,
);

/**
 * The handler for a command form in this firmware version, or undefined (answered like an
 * unknown command: the release does not have it).
 *
 * @example handlerFor(versionTraits('2.2'), 'CIPRECVTYPE', 'set')  // undefined: v2.2 has CIPRECVMODE
 */
export function handlerFor(traits: VersionTraits, name: CommandName, form: AtForm): AtHandler | undefined {
  if (traits.missing.has(name)) return undefined;
  return HANDLERS[name]?.[form];
}
