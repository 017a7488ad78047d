/** `netcoproc demo`'s table entry; the demo itself (bin/demo.ts) loads only when it runs. */
import type { Command } from './args.js';

export const DEMO: Command = {
  name: 'demo',
  summary: 'start an emulator on loopback and fetch http.test through it (what `npm start` runs)',
  options: [],
  async run() {
    const { runDemo } = await import('./demo.js');
    return runDemo();
  },
};
