/**
 * The fault buttons of the live view, as actions on one emulated board: reboot, hang, resume,
 * corrupt (the next 4 bytes the host sends arrive damaged) and drop-host (the transport hangs
 * up on the attached host). Hang and corrupt need the faulty line (`createEmulator({ faults: {} })`).
 */
import type { Emulator } from '../emulator.js';
import type { UiAction } from './server.js';

/** Bytes damaged by the corrupt button: enough to spoil one frame or command. */
export const CORRUPT_BYTES = 4;

export function boardActions(emu: Emulator, dropHost: () => boolean): Record<string, UiAction> {
  return {
    reboot: () => emu.reboot(),
    hang: () => emu.faults.hang(),
    resume: () => emu.faults.resume(),
    corrupt: () => emu.faults.corruptNext(CORRUPT_BYTES, 'hostToDevice'),
    'drop-host': () => {
      if (!dropHost()) throw new Error('no host to drop (none attached over TCP or RFC 2217)');
    },
  };
}
