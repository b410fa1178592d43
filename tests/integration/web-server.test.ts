import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/services/studio';
import { startWebServer, type RunningWebServer } from '../../src/main/web/server';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let web: RunningWebServer;

beforeAll(async () => {
  dir = tempDir();
  // A stand-in renderer: these tests are about the server's guards, not the UI.
  const renderer = join(dir.path, 'renderer');
  mkdirSync(renderer);
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>ATL Studio</title>');
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  web = await startWebServer({ studio, rendererDir: renderer });
});
afterAll(async () => {
  await web.close();
  await studio.dispose();
  dir.remove();
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: web.port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${web.port}`, ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const cookie = () => ({ cookie: `atl_token=${web.token}` });
const callApi = (method: string, input: unknown, headers: Record<string, string> = cookie()) =>
  send(`/api/call/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) });

describe('web mode server', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(web.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('refuses every request without the token', async () => {
    expect((await send('/')).status).toBe(401);
    expect((await callApi('studio.info', {}, {})).status).toBe(401);
    expect((await send('/media/thumb/1')).status).toBe(401);
    expect((await send('/?token=wrong')).status).toBe(401);
    expect((await callApi('studio.info', {}, { cookie: 'atl_token=wrong' })).status).toBe(401);
  });

  it('trades the printed token for an HttpOnly SameSite=Strict cookie and serves the page with a CSP', async () => {
    const landing = await send(`/?token=${web.token}`);
    expect(landing.status).toBe(303);
    expect(String(landing.headers['set-cookie'])).toMatch(/atl_token=.+HttpOnly; SameSite=Strict/);
    const page = await send('/', { headers: cookie() });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'.*script-src 'self'/);
  });

  it('refuses a foreign Host header (DNS rebinding) and cross-origin POSTs', async () => {
    expect((await send('/', { headers: { ...cookie(), host: 'evil.example:80' } })).status).toBe(421);
    expect((await callApi('studio.info', {}, { ...cookie(), origin: 'http://evil.example' })).status).toBe(403);
  });

  it('validates every input against the contract', async () => {
    const unknown = JSON.parse((await callApi('no.such.method', {})).body);
    expect(unknown).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const bad = JSON.parse((await callApi('labels.assign', { imageIds: ['1'], classId: 1 })).body);
    expect(bad.error.message).toMatch(/labels.assign: imageIds.0/);
    const extra = JSON.parse((await callApi('project.open', { path: '/x.atl', evil: true })).body);
    expect(extra.error.code).toBe('invalid_input');
    const noConfirm = JSON.parse((await callApi('project.delete', { path: '/x.atl' })).body);
    expect(noConfirm.error.code).toBe('invalid_input');
    const broken = await send('/api/call/studio.info', { method: 'POST', headers: cookie(), body: '{not json' });
    expect(JSON.parse(broken.body).error.message).toMatch(/not valid JSON/);
  });

  it('runs the studio through the contract: create, import, list, thumbnails', async () => {
    const created = JSON.parse((await callApi('project.create', { name: 'web test' })).body);
    expect(created).toMatchObject({ ok: true, result: { name: 'web test', images: 0 } });
    const started = JSON.parse((await callApi('import.start', { paths: [join(CIFAR10_MINI, 'cat')], labelsFromFolders: false })).body);
    expect(started.ok).toBe(true);
    await studio.idle();
    const list = JSON.parse((await callApi('images.list', { filter: { kind: 'all' }, sort: 'import' })).body);
    expect(list.result).toHaveLength(50);
    const thumb = await send(`/media/thumb/${list.result[0].id}`, { headers: cookie() });
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect((await send('/media/thumb/999999', { headers: cookie() })).status).toBe(404);
  });

  it('keeps uploads inside their folder', async () => {
    const ok = await send('/api/upload?batch=b1&path=cats%2Fa.jpg', { method: 'POST', headers: cookie(), body: Buffer.from('x') });
    expect(JSON.parse(ok.body)).toMatchObject({ ok: true, result: { folder: join(studio.settings.home, 'uploads', 'b1') } });
    const escape = await send('/api/upload?batch=b1&path=..%2F..%2Fevil.jpg', { method: 'POST', headers: cookie(), body: Buffer.from('x') });
    expect(JSON.parse(escape.body)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('does not serve files outside the renderer folder', async () => {
    expect((await send('/../../etc/passwd', { headers: cookie() })).status).toBe(404);
    expect((await send('/%2e%2e/%2e%2e/etc/passwd', { headers: cookie() })).status).toBe(404);
  });
});
