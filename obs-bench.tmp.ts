import { measureTrace, printTrace } from './bench/trace.js';
for (const f of await measureTrace(false)) printTrace(f);
