/**
 * The ESP-AT grammar shared by the host driver and the emulator: the command table, the
 * command encoder (host → device), the command parser (device side), the response/URC
 * parser (host side) and the response formatter (device side). Pure: no I/O, no timers.
 */

export { COMMAND_NAMES, isBadReason, type ParsedCommand, parseCommandLine } from './command-line.js';
export {
  type AtCommandEvent,
  AtCommandParser,
  type AtCommandParserOptions,
  type AtCommandState,
  type ExpectDataOptions,
} from './command-parser.js';
export {
  AT_COMMANDS,
  type CommandName,
  type CommandSpec,
  commandForms,
  commandText,
  type FormSpec,
  findCommand,
} from './commands.js';
export { AtEncodeError, type EncodeOptions, encodeCommand, MAX_COMMAND_LINE, type ParamInput } from './encode.js';
export {
  AT_ERROR_SUBCATEGORY,
  type AtErrorSubcategory,
  BAD_REASON_SUBCATEGORY,
  type BadReason,
  describeBadReason,
  ESP_AT_MODULE,
  errCode,
  errCodeForReason,
  formatErrCode,
} from './errors.js';
export {
  type AtMessage,
  type AtMessageOf,
  AtMessageSchema,
  type AtMessageType,
  type InfoField,
  InfoFieldSchema,
  type Remote,
  RemoteSchema,
  WifiEventSchema,
} from './messages.js';
export { type AtForm, escapeParam, type ParamSpec, type ParamValue, type Signature } from './params.js';
export { formatMessage, formatMessages, infoMessage } from './response-format.js';
export { classifyLine, FIXED_LINES, type FixedLine, splitFields } from './response-lines.js';
export {
  AtResponseParser,
  type AtResponseParserOptions,
  type AtResponseState,
} from './response-parser.js';
