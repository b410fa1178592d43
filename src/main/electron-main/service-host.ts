/**
 * The studio's services in a plain Node process, forked by the Electron main process. Native
 * modules (better-sqlite3, sharp) then run under the Node they were installed for, and long work
 * never blocks Electron's main thread. Talks over the fork's IPC channel (host-protocol.ts).
 */
import { createServices } from '../app/composition-root';
import { Studio } from '../app/studio';
import type { HostMessage, HostRequest } from './host-protocol';

const send = (message: HostMessage) => process.send?.(message);

const studio = new Studio({ front: 'electron', services: createServices() });
studio.onEvent((event) => send({ type: 'event', event }));
await studio.start();

process.on('message', async (request: HostRequest) => {
  if (request.type === 'call') {
    send({ id: request.id, type: 'call', response: await studio.call(request.method, request.input) });
    return;
  }
  const media = await studio.media(request.kind, request.imageId);
  if (media.ok) send({ id: request.id, type: 'media', bytes: media.bytes, contentType: media.contentType });
  else send({ id: request.id, type: 'media', bytes: null, contentType: 'text/plain', error: media.error.message, code: media.error.code });
});

process.on('disconnect', async () => {
  await studio.dispose();
  process.exit(0);
});

send({ type: 'ready' });
