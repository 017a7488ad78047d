/**
 * The live page in a real browser: `netcoproc emulate --ui` runs as a child process, Debian's
 * headless Chromium (driven by playwright-core, which never downloads a browser of its own) loads
 * the page, a host opens a socket through the board and the page shows it; the Reboot button
 * makes it disappear (and the host's socket fails ECONNRESET), Drop the host detaches the host.
 * The screenshots in docs/observe.md are taken here.
 *
 * Chromium is installed by .ci/run: in CI a missing /usr/bin/chromium fails this test; elsewhere
 * it is skipped with a note.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Device, openDevice, type Socket } from '../index.js';
import { type SpawnedEmulator, spawnEmulator } from './helpers/spawn-emulator.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present && !process.env.CI)
  console.warn('test/observe-ui: chromium not installed (apt-get install chromium); skipped');
const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const rowSelector = (id: number): string => `#sockets tbody tr[data-socket="${id}"]`;

describe.skipIf(!present && !process.env.CI)('the live page (--ui) in headless Chromium', { timeout: 60_000 }, () => {
  let emu: SpawnedEmulator;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  let dev: Device;

  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)`);
    emu = await spawnEmulator(['--ui', '--seed', '7']);
    profile = mkdtempSync(join(tmpdir(), 'netcoproc-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1100, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 60_000);

  afterAll(async () => {
    await dev?.close().catch(() => {});
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (emu) expect(await emu.stop()).toBe(0);
  });

  it('serves the state as JSON and refuses unknown faults', async () => {
    const state = (await (await fetch(`${emu.ui}api/state`)).json()) as { board: Record<string, unknown> };
    expect(state.board).toMatchObject({ protocol: 'slip', profile: 'wipy', attached: false, ip: '10.77.0.2' });
    expect(state.board.bootNonce).toMatch(/^[0-9a-f]{16}$/);
    const unknown = await fetch(`${emu.ui}api/faults/meltdown`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { faults: string[] }).faults).toEqual([
      'reboot',
      'hang',
      'resume',
      'corrupt',
      'drop-host',
    ]);
    expect((await fetch(`${emu.ui}api/faults/reboot`)).status).toBe(405);
    expect((await fetch(`${emu.ui}api/faults/drop-host`, { method: 'POST' })).status).toBe(409);
    for (const name of ['hang', 'resume']) {
      expect((await fetch(`${emu.ui}api/faults/${name}`, { method: 'POST' })).status).toBe(200);
    }
    const faults = ((await (await fetch(`${emu.ui}api/state`)).json()) as { faults: { kind: string }[] }).faults;
    expect(faults.map((f) => f.kind)).toEqual(['hang', 'resume']);
    expect((await fetch(`${emu.ui}nope`)).status).toBe(404);
  });

  it('shows a socket appearing, then gone after the Reboot button; Drop the host detaches it', async () => {
    await page.goto(emu.ui as string);
    await page.getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#board').textContent()).toContain('not attached');

    dev = await openDevice(emu.url as string);
    const { socket } = dev;
    const s: Socket = await socket.socket(socket.AF_INET, socket.SOCK_STREAM);
    s.settimeout(5);
    await s.connect((await socket.getaddrinfo('echo.test', 7))[0]?.[4] as [string, number]);
    await s.sendall(new TextEncoder().encode('hello'));
    expect(new TextDecoder().decode(await s.recv(5))).toBe('hello');

    const row = page.locator(rowSelector(0));
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.locator('td').nth(2).textContent()).toBe('connected');
    // The page follows pushed snapshots: the byte counts may arrive one push after the row.
    await expect.poll(async () => (await row.locator('td').allTextContents()).slice(5, 7)).toEqual(['5', '5']);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual(['0', 'tcp', 'connected', '10.77.0.2:*', '10.77.0.7:7']);
    expect(await page.locator('#board').textContent()).toMatch(/attached \(127\.0\.0\.1:\d+\)/);
    await page
      .getByText(/#\d+ CONNECT sock 0 addr 10\.77\.0\.7:7/)
      .first()
      .waitFor();
    await page.screenshot({ path: join(DOCS, 'observe-socket.png'), fullPage: true });

    const nonceBefore = await page.locator('#board dd').nth(3).textContent();
    const failed = s.recv(5).then(
      () => undefined,
      (err: { errno?: number }) => err.errno,
    );
    await page.getByRole('button', { name: 'Reboot' }).click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.locator('#no-sockets').isVisible()).toBe(true);
    expect(await failed).toBe(dev.errno.ECONNRESET);
    await expect.poll(() => page.locator('#board dd').nth(3).textContent()).not.toBe(nonceBefore);
    await page.screenshot({ path: join(DOCS, 'observe-after-reboot.png'), fullPage: true });

    await page.getByRole('button', { name: 'Drop the host' }).click();
    await page.getByText('not attached').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#fault-result').textContent()).toBe('drop-host: done');
  }, 60_000);
});

describe('the live page of an ESP-AT board', () => {
  it('names the firmware release and has no boot nonce', async () => {
    const emu = await spawnEmulator(['--protocol', 'at', '--ui']);
    try {
      const state = (await (await fetch(`${emu.ui}api/state`)).json()) as { board: Record<string, unknown> };
      expect(state.board).toMatchObject({
        protocol: 'at',
        profile: 'esp-at',
        firmware: 'ESP-AT v4.1',
        bootNonce: null,
      });
      const page = await (await fetch(emu.ui as string)).text();
      expect(page).toContain('<script src="/app.js">');
      expect(page).not.toMatch(/https?:\/\//);
      expect((await fetch(`${emu.ui}api/faults/corrupt`, { method: 'POST' })).status).toBe(200);
    } finally {
      expect(await emu.stop()).toBe(0);
    }
  });
});
