/**
 * Web mode: the studio's services over HTTP on 127.0.0.1, for tests here (no Electron binary) and
 * for reaching a headless GPU workstation through an SSH tunnel. Every request must carry the
 * per-launch token: the printed URL holds it once (`/?token=…`), the server answers with an
 * HttpOnly SameSite=Strict cookie, and every later request is checked against it. The Host
 * header is checked too (DNS-rebinding guard), and POSTs must come from our own origin. Bodies
 * have limits (413 past them), and uploads stream to disk rather than through memory.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { mediaStatus, type CallResponse, type ErrorCode } from '../../shared/contract';
import { errorMessage, StudioError } from '../core/errors';
import type { Studio } from '../app/studio';

const COOKIE = 'atl_token';
export const MAX_CALL_BODY = 5 * 1024 * 1024;
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;
/** How long a refused body is still read (and dropped) before the connection closes: see refuseTooLarge. */
const LINGER_MS = 5000;
/** At least 128 bits: 22 or more characters of base64url, the alphabet of the generated tokens. */
const STRONG_TOKEN = /^[A-Za-z0-9_-]{22,}$/;

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
  /** A fixed access token (checked with checkAccessToken); a random 256-bit one otherwise. */
  token?: string;
}

export interface RunningWebServer {
  server: Server;
  port: number;
  token: string;
  url: string;
  close(): Promise<void>;
}

/** Returns `token` if it is strong enough to guard the studio, or throws a StudioError saying what is. */
export function checkAccessToken(token: string): string {
  if (!STRONG_TOKEN.test(token)) {
    throw new StudioError(
      'invalid_input',
      'The access token must be at least 22 characters of A-Z, a-z, 0-9, - and _ (128 bits or more): leave --token out to get a random one.',
    );
  }
  return token;
}

export async function startWebServer(options: WebServerOptions): Promise<RunningWebServer> {
  const token = options.token === undefined ? randomBytes(32).toString('base64url') : checkAccessToken(options.token);
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
      const badRequest = error instanceof StudioError && error.code === 'invalid_input';
      if (!res.headersSent) sendJson(res, badRequest ? 400 : 500, failure(badRequest ? 'invalid_input' : 'internal', errorMessage(error)));
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
    const url = requestUrl(req, host);
    if (!url) return sendText(res, 400, 'Malformed request address.');

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
      const method = decodePath(url.pathname.slice('/api/call/'.length));
      let input: unknown;
      try {
        const body = await readBody(req, MAX_CALL_BODY);
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch (error) {
        if (error instanceof BodyTooLarge) return refuseTooLarge(req, res, error.message);
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
      return receiveUpload(req, res, url, options.studio.settings.home);
    }
    // /media/<kind>/<id>[?project=<file>]: the studio validates both, as for a call.
    const media = /^\/media\/([^/]*)\/([^/]*)$/.exec(url.pathname);
    if (req.method === 'GET' && media) {
      const forProject = url.searchParams.get('project') ?? undefined;
      const answer = await options.studio.media(decodePath(media[1]), decodePath(media[2]), forProject);
      // The grid's request for a project closed since it asked: nothing to show, and no error for the
      // console either (the browser logs every 4xx), the page drops it as it hears of the close.
      if (!answer.ok && answer.error.code === 'no_project' && forProject !== undefined) return void res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
      if (!answer.ok) return sendText(res, mediaStatus(answer.error.code), answer.error.message);
      res.writeHead(200, { 'Content-Type': answer.contentType, 'Cache-Control': 'private, max-age=60' });
      return void res.end(answer.bytes);
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

/**
 * Web mode's drag-and-drop: one file per request, streamed to <home>/uploads/<batch>/<path> (the
 * studio's own folder). The file is created, never overwritten, so a failed upload removes only
 * what this request wrote.
 */
async function receiveUpload(req: IncomingMessage, res: ServerResponse, url: URL, home: string): Promise<void> {
  const query = UploadQuery.safeParse(Object.fromEntries(url.searchParams));
  const folder = query.success ? join(home, 'uploads', query.data.batch) : '';
  const target = query.success ? pathInside(folder, query.data.path) : undefined;
  if (!query.success || !target) {
    return sendJson(res, 400, failure('invalid_input', 'An upload needs a batch id and a path inside the batch (no "..", no absolute path).'));
  }
  const tooLarge = `${query.data.path} is over ${MAX_UPLOAD_BYTES / 2 ** 20} MB, the most an upload may be: type its path on the studio's machine in the Import dialog instead.`;
  if (declaredLength(req) > MAX_UPLOAD_BYTES) return refuseTooLarge(req, res, tooLarge);
  let file: FileHandle;
  try {
    await mkdir(dirname(target), { recursive: true });
    file = await open(target, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return sendJson(res, 409, failure('conflict', `${query.data.path} is already uploaded in this batch: start a new batch.`));
    }
    return sendJson(res, 500, uploadFailure(error));
  }
  try {
    await streamBodyToFile(req, file, MAX_UPLOAD_BYTES);
  } catch (error) {
    await rm(target, { force: true });
    if (error instanceof BodyTooLarge) return refuseTooLarge(req, res, tooLarge);
    return sendJson(res, 500, uploadFailure(error));
  }
  sendJson(res, 200, { ok: true, result: { folder } });
}

function uploadFailure(error: unknown): CallResponse {
  const full = (error as NodeJS.ErrnoException).code === 'ENOSPC';
  return failure('io', full ? 'The disk is full: the upload was not saved.' : errorMessage(error));
}

/** `relative` resolved inside `folder`, or undefined for anything that could leave it: an absolute path, "..", a NUL. */
function pathInside(folder: string, relative: string): string | undefined {
  if (relative.includes('\0') || /^[/\\]/.test(relative)) return undefined;
  if (relative.split(/[/\\]/).includes('..')) return undefined;
  const target = resolve(folder, relative);
  return target.startsWith(folder + sep) ? target : undefined;
}

/**
 * Streams the request body into `file` with back-pressure, failing with BodyTooLarge past `limit`
 * bytes. The request is piped, not handed to pipeline(), because pipeline() would destroy it on
 * failure, and its socket still has to carry the answer.
 */
async function streamBodyToFile(req: IncomingMessage, file: FileHandle, limit: number): Promise<void> {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done(received > limit ? new BodyTooLarge(limit) : null, chunk);
    },
  });
  req.once('close', () => {
    if (!req.complete) counter.destroy(new StudioError('io', 'The upload was cut off before its end: try again.'));
  });
  req.pipe(counter);
  await pipeline(counter, file.createWriteStream());
}

function serveStatic(res: ServerResponse, root: string, pathname: string): void {
  const requested = pathname === '/' ? '/index.html' : decodePath(pathname);
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

/** A request body over its limit: answered with refuseTooLarge. */
class BodyTooLarge extends StudioError {
  constructor(limit: number) {
    super('invalid_input', `The request body is over ${limit / 2 ** 20} MB, the most this address accepts.`);
  }
}

/** Reads a whole (small) body, rejecting with BodyTooLarge as soon as it is known to be over `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    if (declaredLength(req) > limit) return reject(new BodyTooLarge(limit));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function declaredLength(req: IncomingMessage): number {
  return Number(req.headers['content-length'] ?? 0);
}

/**
 * Answers 413 with `Connection: close`. The answer is complete (it has a Content-Length) at once,
 * but the connection closes only once the client has sent the rest, or after LINGER_MS of dropping
 * it: closing a socket with unread data resets it (TCP RST), and a client still writing would then
 * see ECONNRESET instead of this answer.
 */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, message: string): void {
  const body = JSON.stringify(failure('invalid_input', message));
  res.writeHead(413, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  res.write(body);
  const close = () => {
    clearTimeout(timer);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(close, LINGER_MS);
  req.once('end', close);
  req.once('close', close);
  req.resume();
}

/** The request's URL, or undefined for a target that is not a plain path ("http://%/", "*"). */
function requestUrl(req: IncomingMessage, host: string): URL | undefined {
  if (!req.url?.startsWith('/')) return undefined;
  try {
    return new URL(`http://${host}${req.url}`);
  } catch {
    return undefined;
  }
}

/** decodeURIComponent, with a malformed escape (`%ZZ`) as invalid input (400) rather than a URIError (500). */
function decodePath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new StudioError('invalid_input', `Malformed percent-escape in the address: ${encoded}`);
  }
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

function failure(code: ErrorCode, message: string): CallResponse {
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
