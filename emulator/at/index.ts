/** The ESP-AT firmware personality of the emulator (see personality.ts). */
export type { AtTiming } from './context.js';
export { HANDLERS, handlerFor } from './handlers.js';
export { AtPersonality, type AtPersonalityOptions } from './personality.js';
export { DEFAULT_UART, type UartConfig } from './settings.js';
export { AT_VERSION_NAMES, type AtVersion, DEFAULT_AT_VERSION, type VersionTraits, versionTraits } from './versions.js';
