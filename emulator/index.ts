/** netcoproc/emulator: the device side. */
export { createEmulator, type Emulator, type EmulatorOptions } from './emulator.js';
export { VirtualNetwork, type VirtualNetworkOptions } from './network/index.js';
export { getProfile, PROFILES, type Profile } from './profiles.js';
