/** netcoproc/protocol: the wire formats shared by the host library and the emulator. */
export * from './codec.js';
export * as constants from './constants.js';
export { POLL_BITS } from './constants.js';
export * from './errno.js';
export * from './frame.js';
export * from './opcodes.js';
export * from './slip.js';
export * from './wire.js';
export * as at from './at/index.js';
