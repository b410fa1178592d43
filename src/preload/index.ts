/**
 * The renderer's only bridge to the studio (contextIsolation + sandbox): a typed `call` per
 * contract method over IPC, events, media URLs, native pickers and paths of dropped files.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import { MEDIA_SCHEME, type AtlBridge } from '../shared/bridge';
import type { CallResponse, StudioEvent } from '../shared/contract';

const bridge: AtlBridge = {
  // The main process registers one handler per contract method; anything else has no handler.
  call: (method, input) =>
    ipcRenderer.invoke(`atl:${method}`, input).catch(
      (error: Error): CallResponse => ({ ok: false, error: { code: 'invalid_input', message: error.message } }),
    ),
  onEvent: (listener) => {
    const handler = (_event: IpcRendererEvent, studioEvent: StudioEvent) => listener(studioEvent);
    ipcRenderer.on('atl:event', handler);
    return () => ipcRenderer.removeListener('atl:event', handler);
  },
  mediaUrl: (kind, ids) => `${MEDIA_SCHEME}://${kind}/${[ids].flat().join(',')}`,
  pickPaths: (kind) => ipcRenderer.invoke('atl:pickPaths', kind),
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('atl', bridge);
