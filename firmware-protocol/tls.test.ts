import { describe, expect, it } from 'vitest';
import { errnoName, errnoText } from './errno.js';
import { atCertNumber, atCertPaths, TLS_ERRNO_TABLE, tlsErrno, tlsFailureName } from './tls.js';

describe('TLS facts shared by host and emulator', () => {
  it('numbers follow SimpleLink (positive) and are named and described by the errno helpers', () => {
    expect([tlsErrno.ESECBADCAFILE, tlsErrno.ESECDATEERROR, tlsErrno.ESECHANDSHAKETIMEDOUT]).toEqual([456, 461, 462]);
    expect(new Set(TLS_ERRNO_TABLE.map(([, n]) => n)).size).toBe(TLS_ERRNO_TABLE.length);
    expect(errnoName(469)).toBe('ESECWRONGPEERCERT');
    expect(errnoText(460)).toBe('TLS: too many TLS sessions open');
    expect(errnoName(110)).toBe('ETIMEDOUT');
  });

  it('maps node:tls failures; anything unknown is ESECGENERAL', () => {
    expect(tlsFailureName({ code: 'CERT_HAS_EXPIRED' })).toBe('ESECDATEERROR');
    expect(tlsFailureName({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' })).toBe('ESECBADCAFILE');
    expect(tlsFailureName({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).toBe('ESECWRONGPEERCERT');
    expect(tlsFailureName({ code: 'ECONNRESET' })).toBe('ESECCLOSED');
    expect(tlsFailureName({ code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' })).toBe('ESECGENERAL');
    expect(tlsFailureName(undefined)).toBe('ESECGENERAL');
  });

  it('ESP-AT partitions ↔ file-store paths, both ways', () => {
    expect(atCertPaths('ca', 0)).toEqual(['/flash/cert/ca.pem']);
    expect(atCertPaths('pki', 3)).toEqual(['/flash/cert/cert3.pem', '/flash/cert/private3.key']);
    expect(atCertNumber('ca', '/flash/cert/ca.pem')).toBe(0);
    expect(atCertNumber('key', '/flash/cert/private12.key')).toBe(12);
    for (const bad of ['/flash/cert/ca01.pem', '/flash/ca.pem', '/flash/cert/ca256.pem', '/flash/cert/cax.pem']) {
      expect(atCertNumber('ca', bad), bad).toBeUndefined();
    }
  });
});
