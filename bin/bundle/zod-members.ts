/**
 * The zod members the bundled code uses (see zod.ts). A new `z.something` in the sources that is
 * not here makes `tsconfig.bundle.json`'s check, and so the build, fail: add it here.
 * 'zod/v4' is the same module as 'zod' (the classic API); this name is not swapped by build.mjs.
 */

export type { infer, input, output, RefinementCtx } from 'zod/v4';
export {
  array,
  boolean,
  cidrv4,
  custom,
  discriminatedUnion,
  enum,
  instanceof,
  int,
  ipv4,
  literal,
  number,
  object,
  prettifyError,
  record,
  strictObject,
  string,
  tuple,
  union,
  ZodError,
  ZodOptional,
  ZodType,
} from 'zod/v4';
export type * as core from 'zod/v4/core';
