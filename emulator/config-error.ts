/**
 * Configuration files (hosts tables, fault scenarios) fail the same way: one error naming the
 * file, with one `path: problem` line per bad field, written here once.
 *
 * @example
 * throw new ConfigError('hosts table', 'my-hosts.json', result.error.issues.map(describeIssue));
 * // invalid hosts table my-hosts.json:
 * //   hosts["echo.test"].ip: Invalid IPv4 address
 */
import type { z } from 'zod';

export class ConfigError extends Error {
  /** One `path: problem` line per fault. */
  readonly issues: readonly string[];
  constructor(what: string, source: string, issues: readonly string[]) {
    super(`invalid ${what} ${source}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** A zod path as the user would write it: `hosts["echo.test"].tcp[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    const k = String(key);
    return /^[A-Za-z_$][\w$]*$/.test(k) ? (acc ? `${acc}.${k}` : k) : `${acc}[${JSON.stringify(k)}]`;
  }, '');
}

/** One zod issue as `path: problem`; unknown fields and bad record keys are named as such. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path) || '(root)';
  if (issue.code === 'unrecognized_keys')
    return `${where}: unknown field ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_key') return `${where}: bad key: ${issue.issues.map((i) => i.message).join('; ')}`;
  return `${where}: ${issue.message}`;
}
