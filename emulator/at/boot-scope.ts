/**
 * The lifetime of one boot of the emulated board. Everything a command waits for (a timer, a
 * connect, a DNS answer) is tied to the boot it started in: a reboot ends the scope, pending
 * waits reject with {@link Superseded}, and late results of the old boot are recognised and dropped.
 */
import { Superseded } from './context.js';

/**
 * @example
 * const scope = new BootScope();
 * const answer = scope.guard(network.resolve('echo.test'));
 * scope.end();          // reboot: `answer` rejects with Superseded, whatever the resolver says
 */
export class BootScope {
  /** Counts boots; a captured value that no longer matches belongs to an old boot. */
  generation = 0;
  private readonly cancels = new Set<() => void>();

  /** Ends this boot: every pending wait rejects with Superseded. */
  end(): void {
    this.generation++;
    for (const cancel of [...this.cancels]) cancel();
    this.cancels.clear();
  }

  /** True while the boot that captured `generation` is still running. */
  current(generation: number): boolean {
    return generation === this.generation;
  }

  /** Passes `p` through, or rejects with Superseded if the board rebooted before it settled. */
  guard<T>(p: Promise<T>): Promise<T> {
    const gen = this.generation;
    const check = () => {
      if (gen !== this.generation) throw new Superseded();
    };
    return p.then(
      (v) => {
        check();
        return v;
      },
      (err: unknown) => {
        check();
        throw err;
      },
    );
  }

  sleep(ms: number): Promise<void> {
    return this.cancellable<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      return () => clearTimeout(t);
    });
  }

  /** A wait that end() rejects with Superseded. `start` returns its own cleanup. */
  cancellable<T>(start: (resolve: (v: T) => void) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let stop = (): void => undefined;
      const cancel = () => {
        stop();
        reject(new Superseded());
      };
      this.cancels.add(cancel);
      stop = start((v) => {
        this.cancels.delete(cancel);
        stop();
        resolve(v);
      });
    });
  }
}
