/**
 * Seeded randomness for the emulator: with `--seed` every random choice (boot nonces, fault
 * injection, jitter) comes from here, so a run replays exactly. Without a seed, crypto-random.
 */
import { randomBytes } from 'node:crypto';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  bytes(n: number): Uint8Array;
}

/** sfc32-style generator seeded through splitmix32: small, fast, good enough for tests. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const next32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  return {
    next: () => next32() / 2 ** 32,
    bytes: (n) => Uint8Array.from({ length: n }, () => next32() & 0xff),
  };
}

export function cryptoRandom(): Random {
  return {
    next: () => randomBytes(4).readUInt32BE(0) / 2 ** 32,
    bytes: (n) => new Uint8Array(randomBytes(n)),
  };
}

export function makeRandom(seed?: number): Random {
  return seed === undefined ? cryptoRandom() : seededRandom(seed);
}
