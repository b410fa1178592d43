/**
 * Downloading a file with its sha256 pinned: resumable (a `.part` file continues with an HTTP
 * Range request), verified before it is used, and moved into place atomically (rename), so a
 * half-downloaded or wrong file never looks like a good one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { StudioError } from '../core/errors';

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function downloadVerified(url: string, target: string, sha256: string, signal?: AbortSignal): Promise<void> {
  const part = `${target}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const response = await fetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal });
  if (!response.ok || !response.body) {
    throw new StudioError('io', `Download of ${url} failed: HTTP ${response.status}`);
  }
  // 206: the server continues where we stopped; 200: it sends the whole file again.
  const file = await open(part, response.status === 206 ? 'a' : 'w');
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) await file.write(chunk);
  } finally {
    await file.close();
  }
  const actual = await sha256OfFile(part);
  if (actual !== sha256) {
    await rm(part, { force: true });
    throw new StudioError('bad_file', `Checksum mismatch for ${url}: expected sha256 ${sha256}, got ${actual}. The file was not kept.`);
  }
  await rename(part, target);
}
