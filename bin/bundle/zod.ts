/**
 * What `import { z } from 'zod'` means inside the bundled CLI (build.mjs swaps it in for the
 * package root): the same functions, classes and types, gathered as a namespace of only the
 * members our code uses. zod's root `z` also carries its ~50 message locales and the JSON Schema
 * converters, about 530 kB of JavaScript the bundler cannot leave out once `z` is a value, and that
 * every `netcoproc emulate` would compile before printing `listening`.
 *
 * `tsconfig.bundle.json` type-checks the bundled sources with 'zod' mapped to this file, so a zod
 * member used anywhere but missing from zod-members.ts fails the build, never a run.
 */
export * as z from './zod-members.js';
