/**
 * Web mode: the studio's services over HTTP on 127.0.0.1, for tests here (no Electron binary) and
 * for reaching a headless GPU workstation through an SSH tunnel. Every request must carry the
 * per-launch token: the printed URL holds it once (`/?token=…`), the server answers with an
 * HttpOnly SameSite=Strict cookie, and every later request is checked against it. The Host
 * header is checked too (DNS-rebinding guard), and POSTs must come from our own origin.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { CallResponse, MediaKind } from '../../shared/contract';
import { errorMessage, StudioError } from '../services/errors';
import type { Studio } from '../services/studio';

const COOKIE = 'atl_token';
const MAX_CALL_BODY = 5 * 1024 * 1024;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const UploadQuery = z.object({
  batch: z.string().regex(/^[a-z0-9-]{1,64}$/),
  path: z.string().min(1).max(1024),
});

export interface WebServerOptions {
  studio: Studio;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  port?: number;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
}

export interface RunningWebServer {
  server: Server;
  port: number;
  token: string;
  url: string;
  close(): Promise<void>;
}

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererDir = resolve(options.rendererDir);
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new StudioError('not_found', `The renderer is not built (${rendererDir}/index.html missing): run \`npm run build\` first.`);
  }
  const sseClients = new Set<ServerResponse>();
  const unsubscribe = options.studio.onEvent((event) => {
    const data = `data: ${JSON.stringify(event)}\n\n`;
    for (const client of sseClients) client.write(data);
  });

  let port = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, failure('internal', errorMessage(error)));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return sendText(res, 421, 'Unexpected Host header: ATL Studio answers on 127.0.0.1 only.');
    }
    const url = new URL(req.url ?? '/', `http://${host}`);

    // The printed URL: trade the token for a cookie, then drop it from the address bar.
    const offered = url.searchParams.get('token');
    if (req.method === 'GET' && url.pathname === '/' && offered !== null) {
      if (!sameToken(offered, token)) return sendText(res, 401, 'Wrong token: open the URL that `atl-studio serve` printed.');
      res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      res.writeHead(303, { Location: '/' });
      return void res.end();
    }
    if (!sameToken(readCookie(req, COOKIE) ?? String(req.headers['x-atl-token'] ?? ''), token)) {
      return sendText(res, 401, 'ATL Studio needs its access token: open the URL that `atl-studio serve` printed.');
    }
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) return sendText(res, 403, 'Cross-origin request refused.');
    }

    if (req.method === 'POST' && url.pathname.startsWith('/api/call/')) {
      const method = decodeURIComponent(url.pathname.slice('/api/call/'.length));
      let input: unknown;
      try {
        const body = await readBody(req, MAX_CALL_BODY);
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (error) {
        return sendJson(res, 400, failure('invalid_input', `Request body is not valid JSON: ${errorMessage(error)}`));
      }
      const response = await options.studio.call(method, input);
      return sendJson(res, 200, response);
    }
    if (req.method === 'GET' && url.pathname === '/api/events') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      sseClients.add(res);
      req.on('close', () => sseClients.delete(res));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/api/upload') {
      return sendJson(res, 200, await receiveUpload(req, url, options.studio.settings.home));
    }
    const media = /^\/media\/(thumb|image)\/(\d+)$/.exec(url.pathname);
    if (req.method === 'GET' && media) {
      try {
        const id = Number(media[2]);
        const project = options.studio.requireProject();
        const { bytes, contentType } =
          (media[1] as MediaKind) === 'thumb' ? project.images.thumbnail(id) : await project.images.preview(id);
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'private, max-age=60' });
        return void res.end(bytes);
      } catch (error) {
        return sendText(res, error instanceof StudioError && error.code === 'not_found' ? 404 : 500, errorMessage(error));
      }
    }
    if (req.method === 'GET') return serveStatic(res, rendererDir, url.pathname);
    return sendText(res, 405, 'Method not allowed');
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: () =>
      new Promise<void>((done) => {
        unsubscribe();
        for (const client of sseClients) client.end();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** Web mode's drag-and-drop: one file per request, kept under <home>/uploads/<batch>/<path>. */
async function receiveUpload(req: IncomingMessage, url: URL, home: string): Promise<CallResponse> {
  const query = UploadQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) return failure('invalid_input', 'Upload needs a batch id and a relative path');
  const folder = join(home, 'uploads', query.data.batch);
  const relativePath = normalize(query.data.path).replace(/^([/\\])+/, '');
  const target = resolve(folder, relativePath);
  if (!target.startsWith(folder + sep) || relativePath.split(/[/\\]/).includes('..')) {
    return failure('invalid_input', `Refused path ${query.data.path}`);
  }
  try {
    const bytes = await readBody(req, MAX_UPLOAD_BYTES);
    await mkdir(resolve(target, '..'), { recursive: true });
    await writeFile(target, bytes);
  } catch (error) {
    await rm(target, { force: true });
    const full = (error as NodeJS.ErrnoException).code === 'ENOSPC';
    return failure('io', full ? 'The disk is full: the upload was not saved.' : errorMessage(error));
  }
  return { ok: true, result: { folder } };
}

function serveStatic(res: ServerResponse, root: string, pathname: string): void {
  const requested = pathname === '/' ? '/index.html' : decodeURIComponent(pathname);
  const file = resolve(root, `.${normalize(requested)}`);
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
    return sendText(res, 404, 'Not found');
  }
  const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string> = { 'Content-Type': type, 'Cache-Control': 'no-cache' };
  if (type.startsWith('text/html')) headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
  res.writeHead(200, headers);
  createReadStream(file).pipe(res);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new StudioError('invalid_input', `Request body over ${limit / 2 ** 20} MB`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function sameToken(offered: string, token: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function failure(code: 'invalid_input' | 'io' | 'internal', message: string): CallResponse {
  return { ok: false, error: { code, message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
