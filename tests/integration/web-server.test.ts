import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/app/studio';
import { MAX_CALL_BODY, MAX_UPLOAD_BYTES, startWebServer, type RunningWebServer } from '../../src/main/web/server';
import { THUMBNAILS_PER_REQUEST, unpackThumbnails } from '../../src/shared/thumbnail-batch';
import { CIFAR10_MINI, REPO, tempDir } from '../helpers/fixtures';

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

function send(path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply & { bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: web.port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${web.port}`, ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString(), bytes });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

interface StreamedReply extends Reply {
  /** What the client saw, in order: 'response', then maybe an error code once the server stopped reading. */
  events: string[];
  /** sha256 of the bytes sent. */
  sentSha256: string;
}

/**
 * POSTs `size` zero bytes generated on the fly (nothing held in memory), with Content-Length or
 * chunked, honouring back-pressure. Resolves once the connection is closed, with everything the
 * client saw; a connection error before the response counts as a failure.
 */
function sendZeros(path: string, size: number, options: { chunked: boolean; abortAfter?: number }): Promise<StreamedReply> {
  return new Promise((resolve, reject) => {
    const events: string[] = [];
    const hash = createHash('sha256');
    let reply: Reply | undefined;
    const headers: Record<string, string> = { host: `127.0.0.1:${web.port}`, cookie: `atl_token=${web.token}` };
    if (!options.chunked) headers['content-length'] = String(size);
    const req = request({ host: '127.0.0.1', port: web.port, path, method: 'POST', headers }, (res) => {
      events.push('response');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (reply = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => events.push(error.code ?? error.message));
    req.on('close', () => {
      if (reply) resolve({ ...reply, events, sentSha256: hash.digest('hex') });
      else if (options.abortAfter !== undefined) resolve({ status: 0, headers: {}, body: '', events, sentSha256: '' });
      else reject(new Error(`The connection closed without a complete response: ${events.join(', ') || 'no events'}`));
    });
    const chunk = Buffer.alloc(256 * 1024);
    let sent = 0;
    const write = (): void => {
      while (sent < size && !req.destroyed) {
        if (options.abortAfter !== undefined && sent >= options.abortAfter) return void req.destroy();
        const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        hash.update(piece);
        if (!req.write(piece)) return void req.once('drain', write);
      }
      if (!req.destroyed) req.end();
    };
    write();
  });
}

function sha256OfFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
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

  it('validates image requests through the contract: a bad kind or id is 400, and with no project open 409', async () => {
    const ids = (count: number) => Array.from({ length: count }, (_, k) => k + 1).join(',');
    const badLists = ['/media/thumbs/', '/media/thumbs/1,,2', '/media/thumbs/1,0', '/media/thumbs/1,a', '/media/thumbs/1;2', `/media/thumbs/${ids(THUMBNAILS_PER_REQUEST + 1)}`];
    for (const path of ['/media/thumb/0', '/media/thumb/abc', '/media/thumb/1.5', '/media/video/1', '/media/thumb/', '/media/image/99999999999999999999', '/media/thumb/1,2', ...badLists]) {
      const reply = await send(path, { headers: cookie() });
      expect({ path, status: reply.status }).toEqual({ path, status: 400 });
    }
    const noProject = await send('/media/image/1', { headers: cookie() });
    expect(noProject.status).toBe(409);
    expect(noProject.body).toMatch(/No project is open/);
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

    // Many thumbnails in one answer: each image's bytes as its own request gives them; an unknown id is left out.
    const wanted = [list.result[3].id, 999999, list.result[0].id, list.result[49].id];
    const batch = await send(`/media/thumbs/${wanted.join(',')}`, { headers: cookie() });
    expect(batch.status).toBe(200);
    const packed = unpackThumbnails(new Uint8Array(batch.bytes));
    expect(packed.map((t) => t.id).sort((a, b) => a - b)).toEqual(wanted.filter((id) => id !== 999999).sort((a, b) => a - b));
    for (const { id, bytes } of packed) expect(Buffer.from(bytes).equals((await send(`/media/thumb/${id}`, { headers: cookie() })).bytes)).toBe(true);
    const full = await send(`/media/thumbs/${list.result.slice(0, THUMBNAILS_PER_REQUEST).map((r: { id: number }) => r.id).join(',')}`, { headers: cookie() });
    expect(unpackThumbnails(new Uint8Array(full.bytes))).toHaveLength(THUMBNAILS_PER_REQUEST);
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

describe('web mode access token', () => {
  const renderer = () => join(dir.path, 'renderer');

  it('refuses an empty, short or odd token at start, with a message that says what to do', async () => {
    for (const weak of ['', 'secret', 'a'.repeat(21), `${'a'.repeat(21)}!`, `${'a'.repeat(30)} `]) {
      await expect(startWebServer({ studio, rendererDir: renderer(), token: weak })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/at least 22 characters.*leave --token out/),
      });
    }
  });

  it('accepts a strong token of its own and generates one of at least 128 bits by default', async () => {
    const strong = await startWebServer({ studio, rendererDir: renderer(), token: 'Zq3_x-9KpL2mN8vB4cR7tY1w' });
    await strong.close();
    expect(web.token).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  it('`serve --token` refuses a weak token before starting anything', async () => {
    const failure = await promisify(execFile)(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), 'serve', '--token', ''], {
      env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'cli-home') },
      timeout: 60_000,
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringMatching(/access token must be at least 22 characters/) });
    expect(existsSync(join(dir.path, 'cli-home'))).toBe(false);
  });

  it('never authenticates an empty token, cookie or header', async () => {
    expect((await send('/?token=')).status).toBe(401);
    expect((await send('/', { headers: { cookie: 'atl_token=' } })).status).toBe(401);
    expect((await send('/', { headers: { cookie: 'atl_token' } })).status).toBe(401);
    expect((await callApi('studio.info', {}, { 'x-atl-token': '' })).status).toBe(401);
  });
});

describe('web mode hostile input', () => {
  it('answers a call body over the limit with a readable 413, by Content-Length and chunked', async () => {
    for (const chunked of [false, true]) {
      const reply = await sendZeros('/api/call/studio.info', MAX_CALL_BODY + 1, { chunked });
      expect(reply.events).toEqual(['response']);
      expect(reply.status).toBe(413);
      expect(reply.headers.connection).toBe('close');
      expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/over 5 MB/) } });
    }
    // The server is still there.
    expect(JSON.parse((await callApi('studio.info', {})).body).ok).toBe(true);
  });

  it('stops reading a refused body after a few seconds, even from a client that never stops sending', async () => {
    const started = Date.now();
    const headers = { host: `127.0.0.1:${web.port}`, ...cookie(), 'content-length': String(2 ** 40) };
    const req = request({ host: '127.0.0.1', port: web.port, path: '/api/upload?batch=trickle&path=x.bin', method: 'POST', headers, agent: false });
    req.on('error', () => {}); // expected: the server hangs up on the rest of the body
    const status = new Promise<number>((resolve) => req.on('response', (res) => resolve(res.statusCode ?? 0)));
    const trickle = setInterval(() => req.write(Buffer.alloc(64 * 1024)), 50);
    const hungUp = new Promise<number>((resolve) => req.on('socket', (socket) => socket.on('close', () => resolve(Date.now() - started))));
    expect(await status).toBe(413);
    const secondsToHangUp = (await hungUp) / 1000;
    clearInterval(trickle);
    expect(secondsToHangUp).toBeGreaterThan(3);
    expect(secondsToHangUp).toBeLessThan(15);
    expect(existsSync(join(studio.settings.home, 'uploads', 'trickle', 'x.bin'))).toBe(false);
  });

  it('gives 400, not 500, for a malformed percent-escape or request target', async () => {
    expect((await send('/api/call/%E0%A4%A', { method: 'POST', headers: cookie(), body: '{}' })).status).toBe(400);
    expect((await send('/media/%ZZ', { headers: cookie() })).status).toBe(400);
    expect((await send('/assets/%E0%A4%A.js', { headers: cookie() })).status).toBe(400);
    expect((await send('/?token=%ZZ')).status).toBe(401);
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(web.port, '127.0.0.1', () =>
        socket.write(`GET http://%/ HTTP/1.1\r\nHost: 127.0.0.1:${web.port}\r\nCookie: atl_token=${web.token}\r\nConnection: close\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.on('close', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1.1 400 /);
  });

  it('keeps an upload inside its batch folder: no .., no absolute path, no NUL', async () => {
    for (const path of ['../evil.jpg', 'a/../../evil.jpg', '..\\..\\evil.jpg', '/etc/evil.jpg', '\\evil.jpg', 'a\0b.jpg', '.', 'a/..']) {
      const query = new URLSearchParams({ batch: 'confined', path });
      const reply = await send(`/api/upload?${query}`, { method: 'POST', headers: cookie(), body: 'x' });
      expect(reply.status, path).toBe(400);
      expect(JSON.parse(reply.body), path).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    }
    expect(existsSync(join(studio.settings.home, 'uploads', 'confined'))).toBe(false);
  });

  it('answers an upload over its limit with a readable 413 and removes the partial file', async () => {
    const folder = join(studio.settings.home, 'uploads', 'too-big');
    for (const chunked of [false, true]) {
      const name = chunked ? 'chunked.bin' : 'length.bin';
      const reply = await sendZeros(`/api/upload?batch=too-big&path=${name}`, MAX_UPLOAD_BYTES + 1, { chunked });
      expect(reply.events[0]).toBe('response');
      expect(reply.status).toBe(413);
      expect(reply.headers.connection).toBe('close');
      expect(JSON.parse(reply.body).error.message).toMatch(/over 512 MB/);
      expect(existsSync(join(folder, name))).toBe(false);
    }
  });

  it('never overwrites or removes a file already in the upload folder, and removes a half-sent upload', async () => {
    const folder = join(studio.settings.home, 'uploads', 'kept');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'mine.jpg'), 'not the server’s');
    const clash = await send('/api/upload?batch=kept&path=mine.jpg', { method: 'POST', headers: cookie(), body: 'x' });
    expect(JSON.parse(clash.body)).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(readFileSync(join(folder, 'mine.jpg'), 'utf8')).toBe('not the server’s');

    await sendZeros('/api/upload?batch=kept&path=half.bin', 64 * 2 ** 20, { chunked: false, abortAfter: 8 * 2 ** 20 });
    await expect.poll(() => existsSync(join(folder, 'half.bin')), { timeout: 5000 }).toBe(false);
  });

  it('streams parallel uploads to disk: memory stays flat and the files arrive whole', async () => {
    const size = 200 * 2 ** 20;
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const replies = await Promise.all(
      ['one', 'two', 'three'].map((name) => sendZeros(`/api/upload?batch=parallel&path=${name}.bin`, size, { chunked: name === 'two' })),
    );
    clearInterval(sampler);
    const growthMb = (peak - before) / 2 ** 20;
    console.log(`three parallel ${size / 2 ** 20} MB uploads: peak RSS growth ${growthMb.toFixed(0)} MB`);
    for (const [i, name] of ['one', 'two', 'three'].entries()) {
      expect(JSON.parse(replies[i].body)).toMatchObject({ ok: true });
      const file = join(studio.settings.home, 'uploads', 'parallel', `${name}.bin`);
      expect(statSync(file).size).toBe(size);
      expect(await sha256OfFile(file)).toBe(replies[i].sentSha256);
    }
    expect(growthMb).toBeLessThan(150);
  });
});
