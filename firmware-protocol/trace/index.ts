/** Traces: pcapng files and readable text of the serial line and the board's network. */
export * from './describe.js';
export * from './file.js';
export * from './packets.js';
export * from './pcapng.js';
export * from './recorder.js';
export * from './serial-records.js';
export * from './tap.js';
export * from './tcp-flows.js';
