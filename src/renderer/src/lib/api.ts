/**
 * The renderer's one door to the studio services. Inside Electron it goes through the preload
 * bridge (`window.atl`, IPC); in web mode through HTTP to the local server, which authenticated
 * this page with a per-launch token cookie. Both speak the contract in src/shared/contract.ts.
 */
import type { AtlBridge } from '../../../shared/bridge';
import type { CallResponse, Input, MediaKind, Method, Output, StudioEvent } from '../../../shared/contract';

declare global {
  interface Window {
    atl?: AtlBridge;
  }
}

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const bridge: AtlBridge | undefined = typeof window !== 'undefined' ? window.atl : undefined;

export const front: 'electron' | 'web' = bridge ? 'electron' : 'web';

export async function call<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
  let response: CallResponse;
  if (bridge) {
    response = await bridge.call(method, input);
  } else {
    const res = await fetch(`/api/call/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (res.status === 401) throw new ApiError('unauthorized', 'This page lost its access token: open the URL that `atl-studio serve` printed.');
    response = (await res.json()) as CallResponse;
  }
  if (!response.ok) throw new ApiError(response.error.code, response.error.message);
  return response.result as Output<M>;
}

/** Where an image's bytes are served; `ids`: one image's id, or several for `thumbs`. */
export function mediaUrl(kind: MediaKind, ids: number | readonly number[]): string {
  return bridge ? bridge.mediaUrl(kind, ids) : `/media/${kind}/${[ids].flat().join(',')}`;
}

export function onEvent(listener: (event: StudioEvent) => void): () => void {
  if (bridge) return bridge.onEvent(listener);
  const source = new EventSource('/api/events');
  const handler = (message: MessageEvent<string>) => listener(JSON.parse(message.data) as StudioEvent);
  source.addEventListener('message', handler);
  return () => source.close();
}

/** Native pickers exist only in Electron; the web mode asks for a path on the studio's machine instead. */
export const canPickNatively = Boolean(bridge);

export function pickPaths(kind: 'folders' | 'files'): Promise<string[]> {
  if (!bridge) return Promise.resolve([]);
  return bridge.pickPaths(kind);
}

/** Path of a dropped file on the studio's machine: known in Electron only. */
export function pathForFile(file: File): string | null {
  return bridge ? bridge.pathForFile(file) || null : null;
}

/** One dropped file and its path relative to the dropped folder. */
export interface UploadItem {
  file: File;
  relativePath: string;
}

/**
 * Web mode only: copies dropped files to the studio's machine (POST /api/upload, one request per
 * file) and returns the folder they landed in, ready for `import.start`. `relativePath` keeps the
 * dropped folder structure so that "labels from folders" works on drops too.
 */
export async function uploadFiles(
  files: UploadItem[],
  onProgress?: (done: number, total: number) => void,
): Promise<string> {
  const batch = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  let folder = '';
  for (let i = 0; i < files.length; i++) {
    const { file, relativePath } = files[i];
    const query = new URLSearchParams({ batch, path: relativePath });
    const res = await fetch(`/api/upload?${query}`, { method: 'POST', body: file });
    const body = (await res.json()) as CallResponse;
    if (!body.ok) throw new ApiError(body.error.code, `${relativePath}: ${body.error.message}`);
    folder = (body.result as { folder: string }).folder;
    onProgress?.(i + 1, files.length);
  }
  return folder;
}
