/**
 * The process Electron forks for the services (out/main/service-host.js), driven over its IPC
 * channel exactly as the Electron main process drives it: calls, media bytes and events.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostMessage, HostRequest } from '../../src/main/electron-main/host-protocol';
import { REPO, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let host: ChildProcess;
const messages: HostMessage[] = [];
let nextId = 1;

function request(body: Omit<HostRequest & { type: 'call' }, 'id'> | Omit<HostRequest & { type: 'media' }, 'id'>): Promise<HostMessage> {
  const id = nextId++;
  return new Promise((resolve) => {
    const listener = (message: HostMessage) => {
      if ('id' in message && message.id === id) {
        host.off('message', listener);
        resolve(message);
      }
    };
    host.on('message', listener);
    host.send({ ...body, id });
  });
}

beforeAll(async () => {
  dir = tempDir('atl-host-');
  host = fork(join(REPO, 'out/main/service-host.js'), [], {
    serialization: 'advanced',
    env: { ...process.env, ATL_STUDIO_HOME: dir.path },
    stdio: 'ignore',
  });
  host.on('message', (m: HostMessage) => messages.push(m));
  await new Promise<void>((resolve) => host.on('message', (m: HostMessage) => m.type === 'ready' && resolve()));
});
afterAll(() => {
  host.disconnect();
  dir.remove();
});

describe('Electron service host', () => {
  it('answers contract calls, validates them, and serves thumbnails', async () => {
    const info = (await request({ type: 'call', method: 'studio.info', input: {} })) as HostMessage & { type: 'call' };
    expect(info.response).toMatchObject({ ok: true, result: { front: 'electron', project: { name: 'Demo - shapes' } } });
    const bad = (await request({ type: 'call', method: 'labels.assign', input: { imageIds: [] } })) as HostMessage & { type: 'call' };
    expect(bad.response).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const list = (await request({ type: 'call', method: 'images.list', input: { filter: { kind: 'all' }, sort: 'import' } })) as HostMessage & {
      type: 'call';
    };
    const first = (list.response as { result: { id: number }[] }).result[0].id;
    const thumb = (await request({ type: 'media', kind: 'thumb', imageId: first })) as HostMessage & { type: 'media' };
    expect(thumb.contentType).toBe('image/webp');
    expect(thumb.bytes!.length).toBeGreaterThan(100);
    const missing = (await request({ type: 'media', kind: 'image', imageId: 99_999 })) as HostMessage & { type: 'media' };
    expect(missing.bytes).toBeNull();
    expect(missing.error).toMatch(/No image with id 99999/);
    expect(missing.code).toBe('not_found');
  });

  it('validates media requests through the contract, as web mode does: the id as the URL gives it, or invalid_input', async () => {
    const list = (await request({ type: 'call', method: 'images.list', input: { filter: { kind: 'all' }, sort: 'import' } })) as HostMessage & {
      type: 'call';
    };
    const first = (list.response as { result: { id: number }[] }).result[0].id;
    const fromUrl = (await request({ type: 'media', kind: 'thumb', imageId: String(first) })) as HostMessage & { type: 'media' };
    expect(fromUrl.contentType).toBe('image/webp');
    for (const [kind, imageId] of [['thumb', 0], ['thumb', 1.5], ['thumb', '-1'], ['thumb', 'abc'], ['video', first]] as const) {
      const bad = (await request({ type: 'media', kind, imageId })) as HostMessage & { type: 'media' };
      expect({ kind, imageId, bytes: bad.bytes, code: bad.code }).toEqual({ kind, imageId, bytes: null, code: 'invalid_input' });
    }
  });

  it('pushes events while it works', async () => {
    await request({ type: 'call', method: 'classes.create', input: { name: 'hexagon' } });
    expect(messages.some((m) => m.type === 'event' && m.event.type === 'project.changed' && m.event.what === 'classes')).toBe(true);
  });
});
