/**
 * Path rules of the device file store (SPEC §4.5): absolute paths under `/flash`, as on the
 * WiPy (`/flash/cert/ca.pem`). Everything a host sends is checked here before any backing
 * sees it, so no name can reach outside the store, whatever the backing is.
 */
import { DeviceError } from '../core/device-error.js';

/** The store's root, the only top-level directory. */
export const FLASH_ROOT = '/flash';

/** Limits on names, in UTF-8 bytes (FAT's are larger; these keep listings within a frame). */
export const PATH_LIMITS = { maxPath: 128, maxName: 64 } as const;

const utf8 = new TextEncoder();

/**
 * A checked path: `segments` below /flash (empty = /flash itself) and `key`, the relative
 * path the backings use ('cert/ca.pem').
 */
export interface FlashPath {
  readonly path: string;
  readonly segments: readonly string[];
  readonly key: string;
}

/** The characters FAT forbids in names; control characters (NUL included) are checked by code. */
const FAT_FORBIDDEN = '\\:*?"<>|';

/** The first character no name may contain, or undefined. */
function badChar(path: string): string | undefined {
  for (const ch of path) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || FAT_FORBIDDEN.includes(ch)) return ch;
  }
  return undefined;
}

function bad(code: 'EACCES' | 'EINVAL' | 'ENAMETOOLONG', path: string, why: string): DeviceError {
  return new DeviceError(code, `${JSON.stringify(path)}: ${why}`);
}

function checkSegment(segment: string, path: string): void {
  if (segment === '..' || segment === '.') throw bad('EACCES', path, `'${segment}' segments are not allowed`);
  if (segment === '') throw bad('EINVAL', path, 'empty path segment (//)');
  if (utf8.encode(segment).length > PATH_LIMITS.maxName) {
    throw bad('ENAMETOOLONG', path, `a name is longer than ${PATH_LIMITS.maxName} bytes`);
  }
  if (segment.endsWith(' ') || segment.endsWith('.')) throw bad('EINVAL', path, 'a name ends in a space or a dot');
}

/**
 * Checks and splits a store path. `/flash` and a trailing `/` are accepted only for
 * directories (`dir`). Throws DeviceError EACCES for anything outside /flash (relative paths,
 * other roots, `.` and `..`), EINVAL for malformed names (NUL and control characters, `\\`,
 * empty segments), ENAMETOOLONG for a path or name over {@link PATH_LIMITS}.
 *
 * @example parseFlashPath('/flash/cert/ca.pem').key      // 'cert/ca.pem'
 * @example parseFlashPath('/flash/../etc/passwd')        // throws DeviceError EACCES
 */
export function parseFlashPath(path: string, dir = false): FlashPath {
  if (typeof path !== 'string' || path.length === 0) throw bad('EINVAL', String(path), 'empty path');
  const bytes = utf8.encode(path).length;
  if (bytes > PATH_LIMITS.maxPath) throw bad('ENAMETOOLONG', path, `longer than ${PATH_LIMITS.maxPath} bytes`);
  const ch = badChar(path);
  if (ch !== undefined) throw bad('EINVAL', path, `character ${JSON.stringify(ch)} is not allowed in a path`);
  if (!path.startsWith('/')) throw bad('EACCES', path, `paths are absolute, under ${FLASH_ROOT}`);
  const trimmed = dir && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const [, root, ...segments] = trimmed.split('/');
  if (root !== 'flash') throw bad('EACCES', path, `outside ${FLASH_ROOT}`);
  for (const segment of segments) checkSegment(segment, path);
  if (!dir && segments.length === 0) throw new DeviceError('EISDIR', `${JSON.stringify(path)}: is a directory`);
  return { path: [FLASH_ROOT, ...segments].join('/'), segments, key: segments.join('/') };
}
