/** netcoproc/emulator: the device side. */
export {
  AT_VERSION_NAMES,
  AtPersonality,
  type AtPersonalityOptions,
  type AtTiming,
  type AtVersion,
  type UartConfig,
} from './at/index.js';
export { createEmulator, type Emulator, type EmulatorOptions } from './emulator.js';
export { type FileEntry, FileStore, type FileStoreOptions } from './files/index.js';
export { type NetworkPki, type TlsIdentity, VirtualNetwork, type VirtualNetworkOptions } from './network/index.js';
export { getProfile, PROFILES, type Profile } from './profiles.js';
