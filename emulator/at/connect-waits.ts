/**
 * AT+CIPSTART blocks until the socket table reports the connect's end (onConnected), which may
 * also come first, before anyone waits: the result is then kept for the wait that follows.
 */
import type { ErrnoName } from '../../firmware-protocol/index.js';
import type { BootScope } from './boot-scope.js';

type ConnectResult = ErrnoName | 'ok';

export class ConnectWaits {
  private readonly waits = new Map<number, (result: ConnectResult) => void>();
  private readonly results = new Map<number, ConnectResult>();

  /** `scope` cancels the waits of a boot that ended (reboot). */
  constructor(private readonly scope: BootScope) {}

  /** Resolves when socket `sock` is connected; rejects with the errno name, or ETIMEDOUT after `timeoutMs`. */
  wait(sock: number, timeoutMs: number): Promise<void> {
    const early = this.results.get(sock);
    this.results.delete(sock);
    const outcome =
      early !== undefined
        ? Promise.resolve(early)
        : this.scope.cancellable<ConnectResult>((resolve) => {
            this.waits.set(sock, resolve);
            const t = setTimeout(() => resolve('ETIMEDOUT'), timeoutMs);
            return () => clearTimeout(t);
          });
    return this.scope.guard(outcome).then((r) => {
      this.waits.delete(sock);
      if (r !== 'ok') throw new Error(r);
    });
  }

  /** Forgets a result nobody waited for (the link closed). */
  forget(sock: number): void {
    this.results.delete(sock);
  }

  /** Drops every wait and result (reboot: the boot scope has cancelled the waits). */
  clear(): void {
    this.waits.clear();
    this.results.clear();
  }

  /** The socket table's word on a connect: undefined = connected. */
  report(sock: number, error?: ErrnoName): void {
    const wait = this.waits.get(sock);
    this.waits.delete(sock);
    if (wait) wait(error ?? 'ok');
    else this.results.set(sock, error ?? 'ok');
  }
}
