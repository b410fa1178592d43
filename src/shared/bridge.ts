/**
 * What the Electron preload exposes to the renderer as `window.atl`. The web mode has no bridge:
 * the renderer then speaks HTTP to the local server (src/renderer/src/lib/api.ts picks the transport).
 */
import type { CallResponse, MediaKind, StudioEvent } from './contract';

export interface AtlBridge {
  call(method: string, input: unknown): Promise<CallResponse>;
  onEvent(listener: (event: StudioEvent) => void): () => void;
  /** `ids`: one image's id, or several for `thumbs`. */
  mediaUrl(kind: MediaKind, ids: number | readonly number[]): string;
  /** Native open dialog; returns absolute paths, or [] when cancelled. */
  pickPaths(kind: 'folders' | 'files'): Promise<string[]>;
  /** Absolute path of a file dropped on the window (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string;
}

export const MEDIA_SCHEME = 'atl-media';
