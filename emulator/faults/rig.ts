/**
 * Puts a scenario's faults around one emulated board, in two steps because the personality
 * needs its NetInterface before the line can be placed around its UART:
 *
 * ```ts
 * const rig = prepareFaults(scenario, random, network.attach());
 * const personality = new SlipPersonality({ network: rig.nic, ... });
 * const { uart, control } = rig.attach(personality);   // transports attach to `uart`
 * ```
 */
import type { Duplex } from 'node:stream';
import { NetInterface } from '../network/index.js';
import type { Random } from '../random.js';
import { paceDuplex } from '../transports/pace.js';
import { FaultControl, type FaultTarget } from './control.js';
import { FaultyLine } from './faulty-line.js';
import { LineFaults } from './line-faults.js';
import { NetFaults } from './net-faults.js';
import { type FaultScenario, lineConfigFor, loadScenario, parseScenario, type ResolvedScenario } from './scenario.js';
import { type FaultEvent, FaultTrace, forkRandom } from './trace.js';

export interface FaultRig {
  readonly scenario: ResolvedScenario;
  readonly trace: FaultTrace;
  /** The board's attachment to the network, with the scenario's network faults. */
  readonly nic: NetInterface;
  /** Places the faulty line around the personality's UART and starts the scenario's triggers. */
  attach(personality: Duplex & FaultTarget): { uart: Duplex; line: FaultyLine; control: FaultControl };
}

/** A scenario given as a value or as the path of a JSON file, validated. */
export function resolveScenario(input: FaultScenario | string): ResolvedScenario {
  return typeof input === 'string' ? loadScenario(input) : parseScenario(input);
}

/**
 * Splits the fault streams off `random` (one per line direction and one for the network, in a
 * fixed order, so the same seed gives the same faults whatever the traffic's timing) and wraps
 * the board's attachment to the network.
 */
export function prepareFaults(
  scenario: ResolvedScenario,
  random: Random,
  attached: NetInterface,
  onFault?: (e: FaultEvent) => void,
): FaultRig {
  const trace = new FaultTrace(onFault);
  const streams = { network: forkRandom(random), hostToDevice: forkRandom(random), deviceToHost: forkRandom(random) };
  const net = new NetFaults(attached, scenario.network?.hosts ?? {}, streams.network, trace.record);
  return {
    scenario,
    trace,
    nic: new NetInterface(net, attached.ip),
    attach(personality) {
      const toDevice = new LineFaults(
        'hostToDevice',
        lineConfigFor(scenario, 'hostToDevice'),
        streams.hostToDevice,
        trace.record,
      );
      const toHost = new LineFaults(
        'deviceToHost',
        lineConfigFor(scenario, 'deviceToHost'),
        streams.deviceToHost,
        trace.record,
      );
      let control: FaultControl | undefined;
      const line = new FaultyLine(personality, toDevice, toHost, (t) => control?.runTrigger(t));
      control = new FaultControl(personality, { trace, line, net });
      control.start(scenario);
      return { uart: paceDuplex(line, scenario.line?.baud), line, control };
    },
  };
}
