/**
 * A detachable view of a link, for probing one protocol and falling back to another on the
 * same stream (`openDevice(…, { protocol: 'auto' })`): the probing driver talks to the tap;
 * `detach()` cuts it off so its listeners never see the next driver's bytes.
 */
import { Duplex } from 'node:stream';

export interface Tap {
  readonly tap: Duplex;
  /** Stops forwarding in both directions and closes the tap (the link stays open). */
  detach(): void;
}

/**
 * @example
 * const { tap, detach } = tapLink(link);
 * try { return await SlipDriver.open(tap); } catch { detach(); return AtDriver.open(link); }
 */
export function tapLink(link: Duplex): Tap {
  let attached = true;
  const tap = new Duplex({
    write(chunk, _enc, cb) {
      if (attached) link.write(chunk, cb);
      else cb();
    },
    read() {},
  });
  const onData = (chunk: Uint8Array) => tap.push(chunk);
  const onClose = () => tap.destroy();
  const onError = (err: Error) => tap.destroy(err);
  link.on('data', onData);
  link.on('close', onClose);
  link.on('error', onError);
  return {
    tap,
    detach() {
      if (!attached) return;
      attached = false;
      link.off('data', onData);
      link.off('close', onClose);
      link.off('error', onError);
      tap.destroy();
    },
  };
}
