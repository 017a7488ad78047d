/**
 * Names resolved with AT+CIPDOMAIN, kept for a short while. ESP-AT runs one command at a time,
 * and AT+CIPSTART blocks the module until it connects or gives up (20 s by default). Without a
 * cache, `connect(('host', 80))` right after a connect to an unreachable host would wait for
 * that CIPSTART just to resolve a name it resolved a moment ago. lwIP keeps a DNS table on
 * the module for the same reason; CIPDOMAIN does not report the record's TTL, so entries live
 * `ttlMs`. Failures are never cached.
 *
 * ```ts
 * const dns = new DnsCache(30_000);
 * dns.set('echo.test', '10.77.0.7');
 * dns.get('echo.test'); // '10.77.0.7' for the next 30 s, then undefined
 * ```
 */
export class DnsCache {
  private readonly entries = new Map<string, { ip: string; until: number }>();

  /** `ttlMs` 0 turns the cache off. */
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 16,
  ) {}

  get(name: string, now = Date.now()): string | undefined {
    const key = name.toLowerCase();
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (now < e.until) return e.ip;
    this.entries.delete(key);
    return undefined;
  }

  set(name: string, ip: string, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    const key = name.toLowerCase();
    this.entries.delete(key);
    // Oldest first (Map keeps insertion order): drop it when full.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { ip, until: now + this.ttlMs });
  }

  /** The module restarted (it may have joined another network): forget everything. */
  clear(): void {
    this.entries.clear();
  }
}
