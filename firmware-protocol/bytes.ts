/**
 * The one byte-array helper both sides share, so codecs, parsers and sockets do not each carry
 * their own copy loop.
 */

/**
 * The parts as one array: the only part itself when there is one (no copy), else one fresh copy.
 * `total` (the summed length) saves a pass when the caller already counted it.
 *
 * @example
 * concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3)]); // Uint8Array [1, 2, 3]
 */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let size = total ?? 0;
  if (total === undefined) for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
