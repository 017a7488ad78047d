import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultHostsPath, defaultHostsTable, HostsTableError, loadHostsFile, parseHostsTable } from './hosts.js';
import { VirtualNetwork } from './virtual-network.js';

const dir = mkdtempSync(join(tmpdir(), 'netcoproc-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = () => JSON.parse(readFileSync(defaultHostsPath(), 'utf8'));

function issuesOf(value: unknown): readonly string[] {
  try {
    parseHostsTable(value, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(HostsTableError);
    return (err as HostsTableError).issues;
  }
  throw new Error('expected a validation error');
}

describe('hosts table', () => {
  it('the default fixture is valid and has the contract names, the AP and defaults filled in', () => {
    const t = defaultHostsTable();
    expect(Object.keys(t.hosts).sort()).toEqual([
      'blackhole.test',
      'echo.test',
      'expired.test',
      'http.test',
      'mtls.test',
      'refused.test',
      'tls.test',
      'unknown-ca.test',
      'wrong-host.test',
    ]);
    expect(t.hosts['echo.test']).toMatchObject({ tcp: { '7': 'echo' }, udp: { '7': 'echo' }, closedPorts: 'refuse' });
    expect(t.hosts['tls.test']!.tcp).toEqual({ '443': 'https' });
    expect(t.hosts['blackhole.test']!.closedPorts).toBe('drop');
    expect(t.wifi.autoJoin).toBe('netcoproc');
    expect(t.wifi.accessPoints[0]).toMatchObject({ ssid: 'netcoproc', password: 'netcoproc-pass' });
  });

  it('the default table, read without the schema at start-up, is what the schema makes of the file', () => {
    expect(defaultHostsTable()).toStrictEqual(loadHostsFile(defaultHostsPath()));
  });

  it('each caller gets its own copy of the default table', () => {
    defaultHostsTable().device = '10.77.0.200';
    expect(defaultHostsTable().device).toBe('10.77.0.2');
  });

  it.each<[string, (t: ReturnType<typeof base>) => void, string]>([
    [
      'a malformed address',
      (t) => (t.hosts['echo.test'].ip = '10.77.0.300'),
      'hosts["echo.test"].ip: Invalid IPv4 address',
    ],
    [
      'an address outside the subnet',
      (t) => (t.hosts['echo.test'].ip = '192.168.1.7'),
      'hosts["echo.test"].ip: 192.168.1.7 is not a host address in subnet 10.77.0.0/24',
    ],
    [
      'a duplicate address',
      (t) => (t.hosts['http.test'].ip = '10.77.0.7'),
      'hosts["http.test"].ip: 10.77.0.7 is already used by echo.test',
    ],
    [
      'the device address taken',
      (t) => (t.hosts['echo.test'].ip = '10.77.0.2'),
      'hosts["echo.test"].ip: 10.77.0.2 is already used by device',
    ],
    [
      'a port out of range',
      (t) => (t.hosts['echo.test'].tcp = { '70000': 'echo' }),
      'hosts["echo.test"].tcp["70000"]: bad key: port must be 1..65535',
    ],
    [
      'an unknown service kind',
      (t) => (t.hosts['echo.test'].tcp = { '7': 'ftp' }),
      'hosts["echo.test"].tcp["7"]: Invalid option',
    ],
    ['a misspelt key', (t) => (t.hosts['echo.test'].tpc = {}), 'hosts["echo.test"]: unknown field \'tpc\''],
    [
      'an upper-case host name',
      (t) => (t.hosts['Echo.test'] = { ip: '10.77.0.8' }),
      'hosts["Echo.test"]: bad key: host names are lower-case DNS names',
    ],
    ['a bad subnet', (t) => (t.subnet = '10.77.0.0/33'), 'subnet: Invalid IPv4 range'],
    ['autoJoin naming no AP', (t) => (t.wifi.autoJoin = 'nope'), 'wifi.autoJoin: no access point has ssid "nope"'],
    [
      'a short WPA2 password',
      (t) => (t.wifi.accessPoints[0].password = 'short'),
      'wifi.accessPoints[0].password: wpa2-psk needs a password of 8..63 characters',
    ],
    [
      'an open AP with a password',
      (t) => (t.wifi.accessPoints[1].password = 'secret-pass'),
      'wifi.accessPoints[1].password: an open access point has an empty password',
    ],
    ['a missing field', (t) => delete t.device, 'device: Invalid input'],
  ])('names the bad field for %s', (_what, mutate, message) => {
    const t = base();
    mutate(t);
    expect(issuesOf(t).join('\n')).toContain(message);
  });

  it('reports unreadable files and bad JSON with the path', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "subnet": ');
    expect(() => loadHostsFile(bad)).toThrow(/invalid hosts table .*bad\.json:\n {2}not valid JSON/);
    expect(() => VirtualNetwork.loadHostsFile(join(dir, 'missing.json'))).toThrow(
      /missing\.json:\n {2}cannot read file/,
    );
  });

  it('loads a custom file and the network uses it', async () => {
    const t = base();
    t.hosts['mqtt.test'] = { ip: '10.77.0.18', tcp: { '1883': 'echo' } };
    const file = join(dir, 'custom.json');
    writeFileSync(file, JSON.stringify(t));
    const network = new VirtualNetwork({ hosts: VirtualNetwork.loadHostsFile(file) });
    expect(await network.resolve('MQTT.test.')).toEqual(['10.77.0.18']);
    await network.close();
  });
});
