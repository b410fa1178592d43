/**
 * What each strategy does, in one plain line for people: the one table every place that names a
 * strategy shows (the comparison form, the results table, the verdict, the heads panel). Strategy
 * names are in backticks: the renderer shows them as code (CodeText.svelte).
 */
import type { StrategyName } from './contract';

/** Every strategy, in the order forms, tables and charts list them. */
export const STRATEGY_INFO: Record<StrategyName, string> = {
  penultimate: 'Learns from the teacher’s last layer only: the usual, simplest choice',
  'best-single': 'Learns from the one layer that works best on your labels',
  atl: 'Picks the few layers that together tell your classes apart best (adaptive transfer learning)',
  'all-layers': 'Learns from every layer at once (many features: may overfit with few labels)',
  head2toe: 'Keeps only the most useful features of every layer (Head2Toe)',
  ncm: 'Compares each image with the average image of each class, on the last layer; no training',
  'ncm-atl': 'Compares with class averages on the layers that `atl` picks; no training',
};
