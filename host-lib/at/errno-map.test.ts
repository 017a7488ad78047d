/** The errno table (errno-map.ts): every row, and the precedence of ERR CODE over the command's default. */
import { describe, expect, it } from 'vitest';
import type { at } from '../../firmware-protocol/index.js';
import { errno as E } from '../../firmware-protocol/index.js';
import { type AtFailure, atOSError } from './errno-map.js';

const error = (...replies: at.AtMessage[]): AtFailure => ({ kind: 'error', replies });

describe('atOSError', () => {
  it.each([
    ['CIPSTART', error(), E.ECONNREFUSED],
    ['CIPSTART', error({ type: 'already-connected' }), E.EISCONN],
    ['CIPSTART:UDP', error(), E.EADDRINUSE],
    ['CIPSEND', error(), E.EPIPE],
    ['CIPDOMAIN', error(), -2],
    ['CIPSERVER', error(), E.EADDRINUSE],
    ['CIPCLOSE', error(), E.EBADF],
    ['CWJAP', error({ type: 'info', prefix: '+CWJAP', fields: [1], raw: '1' }), E.ETIMEDOUT],
    ['CWJAP', error({ type: 'info', prefix: '+CWJAP', fields: [2], raw: '2' }), E.EACCES],
    ['CWJAP', error({ type: 'info', prefix: '+CWJAP', fields: [3], raw: '3' }), E.ENOENT],
    ['CWJAP', error({ type: 'info', prefix: '+CWJAP', fields: [4], raw: '4' }), E.ECONNREFUSED],
    ['CWJAP', error(), E.ECONNREFUSED],
    ['CIPMUX', error(), E.EIO],
    ['CIPSTART', error({ type: 'err-code', code: 0x01070002 }), E.EINVAL],
    ['CIPDOMAIN', error({ type: 'err-code', code: 0x01090000 }), E.EOPNOTSUPP],
    ['CIPDOMAIN', error({ type: 'err-code', code: 0x010a0000 }), -2],
  ] as const)('%s %j → %i', (context, failure: AtFailure, errno) => {
    expect(atOSError(context, failure).errno).toBe(errno);
  });

  it('maps the channel failures the same way for every command', () => {
    expect(atOSError('CIPSEND', { kind: 'send-fail', replies: [] }).errno).toBe(E.ECONNRESET);
    expect(atOSError('CIPMUX', { kind: 'timeout', ms: 5 }).errno).toBe(E.ETIMEDOUT);
    expect(atOSError('CIPMUX', { kind: 'busy', attempts: 9 }).errno).toBe(E.ETIMEDOUT);
    const reset = atOSError('CIPSTART', { kind: 'reset' });
    expect([reset.errno, reset.message]).toEqual([E.ECONNRESET, '[Errno 104] ECONNRESET: coprocessor restarted']);
    expect(atOSError('AT', { kind: 'link-closed', detail: 'gone' }).errno).toBe(E.EIO);
  });

  it('names the command as written on the wire', () => {
    expect(atOSError('ATE0', { kind: 'timeout', ms: 5 }).message).toContain('ATE0: no answer within 5 ms');
    expect(atOSError('CIPSTART:UDP', { kind: 'timeout', ms: 5 }).message).toContain('AT+CIPSTART:');
  });
});
