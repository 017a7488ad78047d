/** The link table and its one reducer, as a pure state machine. */
import { describe, expect, it } from 'vitest';
import type { at } from '../../firmware-protocol/index.js';
import { applyUrc, type LinkSink, LinkTable } from './links.js';

function sink(log: string[], name: string): LinkSink {
  return {
    onConnect: () => log.push(`${name} connect`),
    onClosed: () => log.push(`${name} closed`),
    onData: (d, r) => log.push(`${name} data ${Buffer.from(d).toString()} ${r?.ip ?? '-'}`),
    onDetached: () => log.push(`${name} detached`),
    room: () => 100,
  };
}

describe('applyUrc', () => {
  it('allocates least recently used ids, highest first, and tracks one link through its life', () => {
    const t = new LinkTable();
    const log: string[] = [];
    const e = t.allocate(sink(log, 'a'))!;
    expect(e.id).toBe(4);
    expect(applyUrc(t, { type: 'connect', link: 4 })).toBe('none');
    expect(e.phase).toBe('open');
    expect(applyUrc(t, { type: 'ipd-notify', link: 4, length: 9, remote: null })).toBe('io');
    expect(e.readable).toBe(true);
    applyUrc(t, { type: 'ipd', link: 4, length: 2, remote: { ip: '1.2.3.4', port: 5 }, data: Buffer.from('hi') });
    expect(applyUrc(t, { type: 'closed', link: 4 })).toBe('io');
    expect(e.phase).toBe('closed');
    expect(log).toEqual(['a connect', 'a data hi 1.2.3.4', 'a closed']);
    t.release(e);
    expect(t.allocate(sink(log, 'b'))!.id).toBe(3); // 4 was just used
  });

  it('gives accepted links to the server, and closes links nobody owns', () => {
    const t = new LinkTable();
    const log: string[] = [];
    expect(applyUrc(t, { type: 'connect', link: 0 })).toEqual({ closeLink: 0 });
    expect(t.get(0)!.phase).toBe('orphan');
    applyUrc(t, { type: 'closed', link: 0 });
    expect(t.get(0)!.phase).toBe('free');
    t.server = {
      onAccept: (e, r) => {
        log.push(`accept ${e.id} ${r?.port}`);
        return sink(log, 'c');
      },
    };
    const conn: at.AtMessage = {
      type: 'link-conn',
      status: 0,
      link: 1,
      protocol: 'TCP',
      server: true,
      remote: { ip: '192.168.4.2', port: 49469 },
      localPort: 80,
    };
    applyUrc(t, conn);
    expect(log).toEqual(['accept 1 49469']);
    expect(t.get(1)!.phase).toBe('open');
  });

  it('a reused id detaches its old owner; events for free ids and unknown lines are counted, not fatal', () => {
    const t = new LinkTable();
    const log: string[] = [];
    const e = t.allocate(sink(log, 'old'))!;
    applyUrc(t, { type: 'connect', link: e.id });
    applyUrc(t, { type: 'closed', link: e.id });
    t.server = { onAccept: () => sink(log, 'new') };
    applyUrc(t, { type: 'connect', link: e.id });
    expect(log).toEqual(['old connect', 'old closed', 'old detached']);
    applyUrc(t, { type: 'closed', link: 2 });
    applyUrc(t, { type: 'ipd-notify', link: 3, length: 1, remote: null });
    applyUrc(t, { type: 'unknown', line: 'local port:2390' });
    expect(t.ignored).toBe(3);
    expect(applyUrc(t, { type: 'ready' })).toBe('reboot');
  });

  it('follows the station events', () => {
    const t = new LinkTable();
    applyUrc(t, { type: 'wifi', event: 'connected' });
    applyUrc(t, { type: 'wifi', event: 'got-ip' });
    expect(t.wifi).toEqual({ connected: true, gotIp: true });
    applyUrc(t, { type: 'wifi', event: 'disconnected' });
    expect(t.wifi).toEqual({ connected: false, gotIp: false });
  });
});
