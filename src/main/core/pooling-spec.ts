/**
 * How a layer's feature map becomes one vector per image. Pure functions over the engine's
 * NCHW maps (pooling.ts beside it does the arithmetic).
 */
import { globalAveragePool, globalMaxPool, spatialAveragePool } from './pooling';

/** What pooling needs to know of a layer (an engine's `FeatureLayer` has it). */
export interface LayerGrid {
  channels: number;
  /** H × W cells of the layer's map. */
  spatialSize: [number, number];
}

/**
 * 'gap' global average (the default), 'gmp' global max, 'spatial' Head2Toe-style average pooling
 * to a small grid whose flattened size is about `spatialTarget` values per layer.
 */
export type Pooling = 'gap' | 'gmp' | 'spatial';
export const POOLINGS: readonly Pooling[] = ['gap', 'gmp', 'spatial'];

/** Head2Toe pooled each block to a few hundred values; 512 sits in the range that worked here. */
export const SPATIAL_TARGET = 512;

/** The grid side for spatial pooling: C·g² ≈ target, at least 1, at most the map's side. */
export function spatialGrid(layer: LayerGrid, target = SPATIAL_TARGET): number {
  const side = Math.round(Math.sqrt(target / layer.channels));
  return Math.max(1, Math.min(side, layer.spatialSize[0], layer.spatialSize[1]));
}

/** The length of one image's pooled vector. */
export function pooledLength(layer: LayerGrid, pooling: Pooling): number {
  const grid = pooling === 'spatial' ? spatialGrid(layer) : 1;
  return layer.channels * grid * grid;
}

/** Pools a batch's map to [N, D], row-major (D = `pooledLength(layer, pooling)`). */
export function poolMap(map: { data: Float32Array; shape: number[] }, layer: LayerGrid, pooling: Pooling): Float32Array {
  return pooling === 'gap'
    ? globalAveragePool(map.data, map.shape)
    : pooling === 'gmp'
      ? globalMaxPool(map.data, map.shape)
      : spatialAveragePool(map.data, map.shape, spatialGrid(layer));
}
