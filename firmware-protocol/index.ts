/** netcoproc/protocol: the wire formats shared by the host library and the emulator. */

export * as at from './at/index.js';
export * from './busy.js';
export * from './bytes.js';
export * from './codec.js';
export * as constants from './constants.js';
export { POLL_BITS } from './constants.js';
export * from './errno.js';
export * from './frame.js';
export * from './line-rate.js';
export * from './link.js';
export * from './link-driver.js';
export * from './link-options.js';
export * from './opcodes.js';
export * as rfc2217 from './rfc2217.js';
export * from './slip.js';
export * from './tls.js';
export * as trace from './trace/index.js';
export * from './wire.js';
