/** Fault injection: serial line, device and network faults from a seeded scenario; see README.md. */
export { FaultControl, type FaultParts, type FaultTarget } from './control.js';
export { type ConnectionFaults, FaultyConnection } from './faulty-connection.js';
export { FaultyLine } from './faulty-line.js';
export { type LineAction, LineFaults, type LineTrigger } from './line-faults.js';
export { NetFaults, type UdpVerdict } from './net-faults.js';
export { ReleaseQueue } from './release-queue.js';
export { type FaultRig, prepareFaults, resolveScenario } from './rig.js';
export {
  AT_QUIRKS,
  type AtQuirk,
  type AtQuirks,
  type FaultFlags,
  type FaultScenario,
  type HangTrigger,
  type HostFaults,
  LINE_DIRS,
  type LineConfig,
  type LineDir,
  lineConfigFor,
  loadScenario,
  parseScenario,
  type RebootTrigger,
  type ResolvedScenario,
  readScenarioFile,
  ScenarioError,
  withFlags,
} from './scenario.js';
export { type FaultEvent, type FaultKind, type FaultPlace, FaultTrace, forkRandom, geometricGap } from './trace.js';
export { FaultyUdp } from './udp-faults.js';
