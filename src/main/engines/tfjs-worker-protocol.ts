/** Messages between the TF.js worker pool (main side) and its worker threads. Types only. */
import type { ErrorCode } from '../../shared/contract';
import type { EngineDescription, FeatureLayer } from './feature-extractor';

export type WorkerRequest =
  | { type: 'run'; id: number; batch: Float32Array; batchSize: number; layerNames: string[] }
  /** Tests only: makes the worker die of an uncaught error. */
  | { type: 'crash' };

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type WorkerReply =
  | { type: 'ready'; layers: FeatureLayer[]; description: EngineDescription }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; outputs?: Array<{ name: string; data: Float32Array; shape: number[] }>; error?: WireError };
