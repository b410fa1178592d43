/** Messages between the Electron main process and the Node service host it forks. */
import type { CallResponse, MediaKind, StudioEvent } from '../../shared/contract';

export type HostRequest =
  | { id: number; type: 'call'; method: string; input: unknown }
  | { id: number; type: 'media'; kind: MediaKind; imageId: number };

export type HostMessage =
  | { type: 'ready' }
  | { type: 'event'; event: StudioEvent }
  | { id: number; type: 'call'; response: CallResponse }
  | { id: number; type: 'media'; bytes: Uint8Array | null; contentType: string; error?: string };
