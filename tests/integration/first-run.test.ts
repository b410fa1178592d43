/**
 * A first run on a fresh machine: `npm start` where Electron's binary cannot be downloaded says so
 * in one line and opens the studio in web mode; `npm test`'s first step finds Chromium, or says
 * the one command that installs it. `npm start` here runs the real start script, with Electron's
 * download mirror pointed at a closed port on this machine (as offline), a stand-in `xdg-open`
 * that records the URL it is asked to open, and a temporary studio home.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electronBinary } from '../../scripts/electron-binary.mjs';
import { CHROMIUM, ensureChromium } from '../../scripts/test-prerequisites.mjs';
import { REPO, tempDir } from '../helpers/fixtures';

const binary = electronBinary();
if (binary) console.log(`SKIP npm start offline: Electron's binary is installed (${binary}), so npm start opens the desktop app.`);

/** A port on 127.0.0.1 that nothing listens on (taken free, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}

async function until<T>(what: string, seconds: number, probe: () => T | undefined | Promise<T | undefined>, seen = () => ''): Promise<T> {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await new Promise((pause) => setTimeout(pause, 200))) {
    const value = await probe();
    if (value !== undefined) return value;
  }
  throw new Error(`no ${what} in ${seconds} s${seen()}`);
}

describe('npm start where Electron cannot be downloaded', () => {
  const dir = tempDir('atl-first-run-');
  const opened = join(dir.path, 'opened-url');
  let start: ReturnType<typeof spawn>;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    if (binary) return;
    // Stands in for the desktop's browser: records the URL the studio asks it to open.
    writeFileSync(join(dir.path, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(join(dir.path, 'xdg-open'), 0o755);
    start = spawn(process.execPath, [join(REPO, 'scripts/start.mjs')], {
      cwd: REPO,
      detached: true, // its own process group, so that the web server it starts is stopped with it
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ELECTRON_MIRROR: `http://127.0.0.1:${await closedPort()}/`,
        electron_config_cache: join(dir.path, 'electron-cache'), // no zip cached by an earlier download
        ATL_STUDIO_HOME: join(dir.path, 'home'),
        PATH: `${dir.path}:${process.env.PATH}`,
      },
    });
    start.stdout!.on('data', (chunk) => (stdout += chunk));
    start.stderr!.on('data', (chunk) => (stderr += chunk));
  });

  afterAll(async () => {
    if (start?.exitCode === null) {
      const exited = new Promise((done) => start.once('exit', done));
      process.kill(-start.pid!, 'SIGTERM');
      await exited;
      // The web server closes the studio on SIGTERM; wait until its port is free before removing its home.
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout)?.[0];
      if (url) await until('stop', 30, () => fetch(url).then(() => undefined, () => true));
    }
    dir.remove();
  });

  it.skipIf(!!binary)('says why in one line, no stack, and serves the studio at the URL it opens in the browser', async () => {
    const printed = () => `, it printed:\n${stdout}\n${stderr}`;
    const url = await until('web mode URL', 90, () => /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(stdout)?.[0], printed);
    expect(stderr.trim()).toMatch(
      /^Electron's binary could not be downloaded \(connect ECONNREFUSED 127\.0\.0\.1:\d+; offline\?\): opening the studio in web mode in your browser instead\.$/,
    );
    // As a browser does: the printed URL trades its token for a cookie, then the page is served.
    const landing = await fetch(url, { redirect: 'manual' });
    expect(landing.status).toBe(303);
    const cookie = landing.headers.get('set-cookie')!.split(';')[0];
    const page = await fetch(new URL(landing.headers.get('location')!, url), { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<div id="app"|<script/);
    expect(await until('browser opened', 30, () => (existsSync(opened) ? readFileSync(opened, 'utf8') : undefined))).toBe(url);
    expect(stderr).toBe(stderr.trim() + '\n'); // still one line: nothing more on stderr while serving
  });
});

describe("npm test's prerequisites", () => {
  it('passes quietly where Chromium is installed', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is on every machine that runs the tests: npm test installs it`).toBe(true);
    const check = spawnSync(process.execPath, [join(REPO, 'scripts/test-prerequisites.mjs')], { encoding: 'utf8' });
    expect({ status: check.status, stdout: check.stdout, stderr: check.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('without Chromium and without root, names the exact command to run', () => {
    const missing = '/nonexistent/chromium';
    let installs = 0;
    const problem = ensureChromium({ chromium: missing, root: false, apt: true, install: () => (installs++, null) });
    expect(problem).toBe(`The end-to-end tests need Chromium at ${missing}: run \`sudo apt-get install -y chromium\`, then \`npm test\` again.`);
    expect(installs).toBe(0);
  });

  it('as root with apt, installs it, and says so when the install fails', () => {
    const scratch = tempDir();
    const chromium = join(scratch.path, 'chromium');
    try {
      expect(ensureChromium({ chromium, root: true, apt: true, install: () => (writeFileSync(chromium, ''), null) })).toBeNull();
      expect(ensureChromium({ chromium: join(scratch.path, 'none'), root: true, apt: true, install: () => 'apt-get update exited with code 100' })).toBe(
        'Chromium could not be installed (apt-get update exited with code 100): run `apt-get install -y chromium` by hand, then `npm test` again.',
      );
    } finally {
      scratch.remove();
    }
  });
});
