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
export {
  AT_QUIRKS,
  type AtQuirk,
  type AtQuirks,
  FaultControl,
  type FaultEvent,
  type FaultFlags,
  type FaultKind,
  type FaultScenario,
  type HostFaults,
  type LineConfig,
  type LineDir,
  LineFaults,
  loadScenario,
  parseScenario,
  type ResolvedScenario,
  readScenarioFile,
  ScenarioError,
  withFlags,
} from './faults/index.js';
export { type FileEntry, FileStore, type FileStoreOptions } from './files/index.js';
export { type NetworkPki, type TlsIdentity, VirtualNetwork, type VirtualNetworkOptions } from './network/index.js';
export { type BoardSnapshot, BoardWatch, type LinkStatus, type SocketRow } from './observe/board-watch.js';
export type { EmulatorObserver, NetObserver } from './observe/observer.js';
export { type EmulatorTrace, openEmulatorTrace } from './observe/trace.js';
export { getProfile, PROFILES, type Profile } from './profiles.js';
export { boardActions } from './ui/actions.js';
export { serveUi, type UiAction, type UiOptions, type UiServer } from './ui/server.js';
