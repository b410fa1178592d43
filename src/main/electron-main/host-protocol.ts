/** Messages between the Electron main process and the Node service host it forks. */
import type { CallResponse, ErrorCode, StudioEvent } from '../../shared/contract';

export type HostRequest =
  | { id: number; type: 'call'; method: string; input: unknown }
  /** As the atl-media:// URL gives them: the studio validates them (MediaRequest). */
  | { id: number; type: 'media'; kind: string; imageId: number | string };

export type HostMessage =
  | { type: 'ready' }
  | { type: 'event'; event: StudioEvent }
  | { id: number; type: 'call'; response: CallResponse }
  | { id: number; type: 'media'; bytes: Uint8Array | null; contentType: string; error?: string; code?: ErrorCode };
