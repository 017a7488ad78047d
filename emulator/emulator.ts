/**
 * An emulated coprocessor: a profile, a virtual network, and a firmware personality whose
 * UART (a Duplex) transports attach to. In-process use hands `uart` straight to host-lib.
 *
 * ```ts
 * const emu = createEmulator({ profile: 'wipy' });
 * const dev = await openDevice(emu.uart);
 * ```
 */
import type { Duplex } from 'node:stream';
import { type NetInterface, VirtualNetwork, type VirtualNetworkOptions } from './network/index.js';
import { getProfile, type Profile } from './profiles.js';
import { makeRandom } from './random.js';
import { type Forward, SlipPersonality } from './slip/personality.js';

export interface EmulatorOptions {
  protocol?: 'slip';
  profile?: string;
  /** A network to join (shared between devices) or options for a new one. */
  network?: VirtualNetwork | VirtualNetworkOptions;
  seed?: number;
  onBadFrame?: (reason: string) => void;
  /** Called when a device listener is forwarded to a loopback port. */
  onForward?: (f: Forward) => void;
}

export interface Emulator {
  readonly profile: Profile;
  readonly network: VirtualNetwork;
  /** This board's attachment: its virtual address is `nic.ip`. */
  readonly nic: NetInterface;
  /** Listeners forwarded to loopback ports so far. */
  readonly forwards: Forward[];
  /** The device's UART: write host bytes into it, read device bytes from it. */
  readonly uart: Duplex;
  readonly personality: SlipPersonality;
  /** Power-cycles the emulated board (new boot nonce; every socket is gone). */
  reboot(): void;
  close(): Promise<void>;
}

export function createEmulator(opts: EmulatorOptions = {}): Emulator {
  const profile = getProfile(opts.profile ?? 'wipy');
  const ownNetwork = !(opts.network instanceof VirtualNetwork);
  const network = opts.network instanceof VirtualNetwork ? opts.network : new VirtualNetwork(opts.network ?? {});
  const nic = network.attach();
  const forwards: Forward[] = [];
  const personality = new SlipPersonality({
    profile,
    network: nic,
    onForward: (f) => {
      forwards.push(f);
      opts.onForward?.(f);
    },
    random: makeRandom(opts.seed),
    onBadFrame: opts.onBadFrame,
  });
  return {
    profile,
    network,
    nic,
    forwards,
    uart: personality,
    personality,
    reboot: () => personality.reboot(),
    async close() {
      personality.destroy();
      await nic.close();
      if (ownNetwork) await network.close();
    },
  };
}
