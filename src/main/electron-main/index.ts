/**
 * Electron's entry, kept thin: one locked-down window, one IPC handler per contract method, the
 * atl-media:// protocol for image bytes, and a forked Node process that runs the services
 * (service-host.ts). No service code runs here.
 */
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEDIA_SCHEME } from '../../shared/bridge';
import { mediaStatus, methods, type CallResponse } from '../../shared/contract';
import type { HostMessage, HostRequest } from './host-protocol';

const here = dirname(fileURLToPath(import.meta.url));

protocol.registerSchemesAsPrivileged([
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

type HostRequestBody = HostRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** The forked service host and its pending requests. */
class ServiceHost {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (message: HostMessage) => void>();

  constructor(onEvent: (message: HostMessage & { type: 'event' }) => void) {
    // The Node that installed the native modules (npm sets npm_node_execpath), else `node`.
    const execPath = process.env.ATL_NODE ?? process.env.npm_node_execpath ?? 'node';
    this.child = fork(join(here, 'service-host.js'), [], { execPath, serialization: 'advanced', stdio: 'inherit' });
    this.child.on('message', (message: HostMessage) => {
      if (message.type === 'event') onEvent(message);
      else if ('id' in message) {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
    this.child.on('exit', (code) => {
      if (code !== 0) dialog.showErrorBox('ATL Studio', `The studio's service process stopped (exit code ${code}).`);
      app.quit();
    });
  }

  request(request: HostRequestBody): Promise<HostMessage> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...request, id } as HostRequest);
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    backgroundColor: '#1e1f22',
    title: 'ATL Studio',
    webPreferences: {
      preload: join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  // Nothing navigates away and nothing opens new windows: the studio is one page.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  if (process.env.ELECTRON_RENDERER_URL) void window.loadURL(process.env.ELECTRON_RENDERER_URL);
  else void window.loadFile(join(here, '../renderer/index.html'));
  return window;
}

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  let window: BrowserWindow | null = null;
  const host = new ServiceHost((message) => window?.webContents.send('atl:event', message.event));

  const fromOurWindow = (event: Electron.IpcMainInvokeEvent) => event.sender === window?.webContents;
  for (const method of methods) {
    ipcMain.handle(`atl:${method}`, async (event, input: unknown): Promise<CallResponse> => {
      if (!fromOurWindow(event)) return { ok: false, error: { code: 'invalid_input', message: 'Unknown sender' } };
      const reply = await host.request({ type: 'call', method, input });
      return (reply as HostMessage & { type: 'call' }).response;
    });
  }
  ipcMain.handle('atl:pickPaths', async (event, kind: unknown) => {
    if (!fromOurWindow(event) || !window || (kind !== 'folders' && kind !== 'files')) return [];
    const result = await dialog.showOpenDialog(window, {
      properties: kind === 'folders' ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
    });
    return result.canceled ? [] : result.filePaths;
  });

  // atl-media://<kind>/<id>: the service host's studio validates both, as for a call.
  protocol.handle(MEDIA_SCHEME, async (request) => {
    const url = new URL(request.url);
    const reply = (await host.request({ type: 'media', kind: url.hostname, imageId: url.pathname.replace(/^\//, '') })) as HostMessage & {
      type: 'media';
    };
    if (!reply.bytes) return new Response(reply.error ?? 'Not found', { status: mediaStatus(reply.code ?? 'not_found') });
    return new Response(Buffer.from(reply.bytes), { headers: { 'content-type': reply.contentType } });
  });

  window = createWindow();
  app.on('before-quit', () => host.stop());
});

app.on('window-all-closed', () => app.quit());
