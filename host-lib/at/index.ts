/** The ESP-AT host driver: stock Espressif AT firmware as a netcoproc Driver. */
export { AtDriver, type AtDriverOptions } from './at-driver.js';
export { AtSocket } from './at-socket.js';
export { AtChannel, type AtCommand, type AtReply, infoLines } from './channel.js';
export { AT_ERRNO, type AtFailure, atOSError, EAI_NONAME } from './errno-map.js';
export { applyUrc, LinkEntry, LinkTable, type UrcEffect } from './links.js';
export type { AtCapabilities } from './startup.js';
export { WLAN_STATUS } from './wlan.js';
