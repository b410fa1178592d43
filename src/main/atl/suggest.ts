/**
 * What to label next: a greedy order over the unlabeled pool that mixes uncertainty (the current
 * head's margin between its two most probable classes) with diversity (k-center: distance to the
 * nearest image already labeled or already suggested), so that a batch of new labels neither
 * repeats itself nor spends labels on images the head already gets right. Without a head (cold
 * start), diversity alone.
 */
import { StudioError } from '../core/errors';
import { seededRandom } from '../../shared/seeded-random';
import type { Matrix } from './matrix';

export interface SuggestOptions {
  count: number;
  /** Weight of uncertainty against diversity, 0–1 (ignored without uncertainties). */
  uncertaintyWeight: number;
  /** Exponent of each pool image's typicality (see `typicality`) multiplying its score; 0 ignores it. */
  typicalityPower: number;
}

/**
 * Equal weights of uncertainty and diversity: neither is known to dominate on an unseen task.
 * Typicality to the power ½, chosen on the label-next simulation (the same runs reported, so the
 * choice is optimistic): without it, uncertainty + k-center picked outliers and lost to random
 * order on cifar10-mini; to the power 1 it won there but lost on omniglot-small1, where 136 classes
 * make the margins flat and typicality alone steered the picks.
 */
export const SUGGEST_DEFAULTS: SuggestOptions = { count: 20, uncertaintyWeight: 0.5, typicalityPower: 0.5 };

/** How far `suggestOrder` got: the pass over the pool it is in, and how much of that pass is done. */
export interface SuggestProgress {
  pass: 'typicality' | 'distances' | 'picks';
  /** Pool rows searched (typicality, distances) or images picked. */
  done: number;
  total: number;
}

/** Rows between two progress reports: often enough for a bar that moves, rarely enough to cost nothing. */
const REPORT_EVERY = 1024;

/** Calls `report` with the rows done every `REPORT_EVERY` rows and at the end (`done` = `total`). */
function rowReporter(total: number, report?: (done: number) => void): (done: number) => void {
  return (done) => {
    if (report && (done % REPORT_EVERY === 0 || done === total)) report(done);
  };
}

/** Cells a query of a `CellIndex` visits. */
const PROBES = 3;

/** Up to this many rows, neighbours are searched among every row; beyond, through a `CellIndex`. */
export const EXACT_SEARCH_ROWS = 1000;

/**
 * How typical each pool row is: its mean similarity exp(−d²) to its `k` nearest pool neighbours,
 * scaled to 0–1. Outliers score low: with few labels, a label on an atypical image
 * teaches little about the rest. Every pool row is searched for (no sample): exactly in pools of
 * up to `exactUpTo` rows, through a `CellIndex` in larger ones (cost n·√n instead of n²).
 */
export function typicality(
  features: Matrix,
  pool: readonly number[],
  k = 10,
  exactUpTo = EXACT_SEARCH_ROWS,
  onRows?: (done: number) => void,
): Float64Array {
  const out = new Float64Array(pool.length);
  const reportRows = rowReporter(pool.length, onRows);
  const index = pool.length > exactUpTo ? new CellIndex(features, pool) : null;
  const nearest = new BoundedSmallest(Math.min(k, pool.length - 1));
  let max = 1e-12;
  for (let p = 0; p < pool.length; p++) {
    nearest.clear();
    const visit = (q: number) => {
      if (q !== pool[p]) nearest.offer(squaredDistance(features, pool[p], q));
    };
    if (index) index.forCandidates(pool[p], visit, index.cellsOfMember(p));
    else for (const q of pool) visit(q);
    out[p] = nearest.size > 0 ? nearest.values().reduce((total, v) => total + Math.exp(-v), 0) / nearest.size : 1;
    if (out[p] > max) max = out[p];
    reportRows(p + 1);
  }
  return out.map((v) => v / max);
}

/**
 * Each query row's distance to its nearest row of `rows` (Infinity when there are none): exact for
 * up to `exactUpTo` rows, else through a `CellIndex`, where a nearest row outside the query's two
 * cells is missed and the next nearest found.
 */
export function nearestDistances(
  features: Matrix,
  queries: readonly number[],
  rows: readonly number[],
  exactUpTo = EXACT_SEARCH_ROWS,
  onRows?: (done: number) => void,
): Float64Array {
  const out = new Float64Array(queries.length).fill(Infinity);
  const reportRows = rowReporter(queries.length, onRows);
  if (rows.length === 0) {
    reportRows(queries.length);
    return out;
  }
  const index = rows.length > exactUpTo ? new CellIndex(features, rows) : null;
  for (let p = 0; p < queries.length; p++) {
    let best = Infinity;
    const visit = (q: number) => {
      const d = squaredDistance(features, queries[p], q);
      if (d < best) best = d;
    };
    if (index) index.forCandidates(queries[p], visit);
    else for (const q of rows) visit(q);
    out[p] = Math.sqrt(best);
    reportRows(p + 1);
  }
  return out;
}

/**
 * An approximate nearest-neighbour index over `rows` of `features` (an inverted file): ⌈√n⌉ cells
 * around centres drawn from the rows, each row filed under its nearest centre. A query
 * visits the rows of its two nearest cells, about 2√n distances instead of n; a neighbour filed
 * under a third cell is missed. A cell grown far past its share (dense data) is visited in an even
 * sample of `MAX_VISITS`, so that no query costs more than that.
 */
export class CellIndex {
  private readonly centres: number[];
  private readonly members: number[][];
  /** The two nearest cells of each indexed row, in `rows` order. */
  private readonly memberCells: Int32Array;
  private readonly maxVisits: number;

  constructor(
    private readonly features: Matrix,
    rows: readonly number[],
  ) {
    const cells = Math.ceil(Math.sqrt(rows.length));
    // Centres drawn at random (seeded: the same order every time), not evenly spaced: rows in a
    // periodic order (classes interleaved) would give evenly spaced centres in a few classes only.
    const random = seededRandom(rows.length);
    const shuffled = [...rows];
    for (let i = 0; i < cells; i++) {
      const j = i + Math.floor(random() * (shuffled.length - i));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    this.centres = shuffled.slice(0, cells);
    this.members = this.centres.map(() => []);
    this.memberCells = new Int32Array(PROBES * rows.length);
    rows.forEach((row, i) => {
      const cells = this.nearestCells(row);
      this.members[cells[0]].push(row);
      this.memberCells.set(cells, PROBES * i);
    });
    this.maxVisits = 16 * cells;
  }

  /** The nearest cells of the `i`-th indexed row (known since it was filed). */
  cellsOfMember(i: number): number[] {
    return Array.from(this.memberCells.subarray(PROBES * i, PROBES * (i + 1)));
  }

  /** Calls `visit` with the rows filed under `row`'s `PROBES` nearest cells. */
  forCandidates(row: number, visit: (row: number) => void, cells = this.nearestCells(row)): void {
    const candidates = [...new Set(cells)].map((c) => this.members[c]);
    const total = candidates.reduce((n, m) => n + m.length, 0);
    const step = Math.max(1, total / this.maxVisits);
    for (const members of candidates) for (let i = 0; i < members.length; i += step) visit(members[Math.floor(i)]);
  }

  /** The `PROBES` nearest centres, nearest first (repeating the last when there are fewer cells). */
  private nearestCells(row: number): number[] {
    const distances = this.centres.map((centre) => squaredDistance(this.features, row, centre));
    const order = Array.from(distances.keys()).sort((a, b) => distances[a] - distances[b]);
    return Array.from({ length: PROBES }, (_, i) => order[Math.min(i, order.length - 1)]);
  }
}

/** The `capacity` smallest of the numbers offered (an insertion-sorted array: capacity is small). */
class BoundedSmallest {
  private readonly items: Float64Array;
  size = 0;

  constructor(private readonly capacity: number) {
    this.items = new Float64Array(Math.max(0, capacity));
  }

  clear(): void {
    this.size = 0;
  }

  offer(value: number): void {
    if (this.capacity === 0 || (this.size === this.capacity && value >= this.items[this.size - 1])) return;
    let i = this.size < this.capacity ? this.size++ : this.size - 1;
    for (; i > 0 && this.items[i - 1] > value; i--) this.items[i] = this.items[i - 1];
    this.items[i] = value;
  }

  values(): Float64Array {
    return this.items.subarray(0, this.size);
  }
}

function squaredDistance(features: Matrix, a: number, b: number): number {
  const { cols: d, data } = features;
  const [i, j] = [a * d, b * d];
  let sum = 0;
  for (let c = 0; c < d; c++) {
    const diff = data[i + c] - data[j + c];
    sum += diff * diff;
  }
  return sum;
}

export interface SuggestedItem {
  /** Row in `features`. */
  row: number;
  score: number;
  uncertainty: number | null;
  /** Distance to the nearest labeled or earlier-suggested row, relative to the largest in the pool when picked (0–1). */
  novelty: number;
}

/** 1 − (p₁ − p₂) per row of `rows × classes` probabilities: 1 when the top two tie, 0 when sure. */
export function marginUncertainty(probabilities: Float64Array, classes: number): Float64Array {
  const rows = probabilities.length / classes;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let first = 0;
    let second = 0;
    for (let c = 0; c < classes; c++) {
      const p = probabilities[i * classes + c];
      if (p > first) [first, second] = [p, first];
      else if (p > second) second = p;
    }
    out[i] = 1 - (first - second);
  }
  return out;
}

/**
 * Greedy order over `pool` rows of `features` (rows normalized the way the head sees them):
 * each pick maximizes w·uncertainty + (1 − w)·novelty, then counts as labeled for novelty.
 * `uncertainty` is per pool row (same order), or null for diversity alone. `onProgress` hears each
 * pass over the pool as it goes (at 70,000 images the passes take tens of seconds).
 */
export function suggestOrder(
  features: Matrix,
  labeled: readonly number[],
  pool: readonly number[],
  uncertainty: Float64Array | null,
  options: Partial<SuggestOptions> = {},
  onProgress?: (progress: SuggestProgress) => void,
): SuggestedItem[] {
  const { count, uncertaintyWeight } = { ...SUGGEST_DEFAULTS, ...options };
  if (uncertainty && uncertainty.length !== pool.length) throw new StudioError('invalid_input', 'One uncertainty per pool image is needed');
  const w = uncertainty ? uncertaintyWeight : 0;
  // Ranks, not raw margins: a head's confidence scale varies (a nearest-mean head over many
  // classes gives nearly flat probabilities), its order is what carries the information.
  const uncertaintyRank = uncertainty ? percentileRanks(uncertainty) : null;
  const typical = options.typicalityPower ?? SUGGEST_DEFAULTS.typicalityPower;
  const total = pool.length;
  const passReporter = (pass: SuggestProgress['pass']) => (onProgress ? (done: number) => onProgress({ pass, done, total }) : undefined);
  const density = typical > 0 ? typicality(features, pool, undefined, undefined, passReporter('typicality')).map((v) => v ** typical) : null;
  const nearest = nearestDistances(features, pool, labeled, undefined, passReporter('distances'));
  const taken = new Uint8Array(pool.length);
  const picks: SuggestedItem[] = [];
  const picking = Math.min(count, pool.length);
  for (let k = 0; k < picking; k++) {
    // With nothing labeled yet every distance is infinite: novelty is then 1 for all.
    let largest = 0;
    for (let p = 0; p < pool.length; p++) if (!taken[p] && Number.isFinite(nearest[p])) largest = Math.max(largest, nearest[p]);
    let best = -1;
    let bestScore = -Infinity;
    let bestNovelty = 0;
    for (let p = 0; p < pool.length; p++) {
      if (taken[p]) continue;
      const novelty = Number.isFinite(nearest[p]) ? (largest > 0 ? nearest[p] / largest : 0) : 1;
      const score = (w * (uncertaintyRank ? uncertaintyRank[p] : 0) + (1 - w) * novelty) * (density ? density[p] : 1);
      if (score > bestScore) [best, bestScore, bestNovelty] = [p, score, novelty];
    }
    taken[best] = 1;
    picks.push({ row: pool[best], score: bestScore, uncertainty: uncertainty ? uncertainty[best] : null, novelty: bestNovelty });
    updateNearest(features, pool, nearest, pool[best]);
    onProgress?.({ pass: 'picks', done: k + 1, total: picking });
  }
  return picks;
}

function updateNearest(features: Matrix, pool: readonly number[], nearest: Float64Array, row: number): void {
  for (let p = 0; p < pool.length; p++) {
    const distance = Math.sqrt(squaredDistance(features, pool[p], row));
    if (distance < nearest[p]) nearest[p] = distance;
  }
}

/** Each value's rank among all, scaled to 0 (smallest) … 1 (largest); ties share their mean rank. */
export function percentileRanks(values: Float64Array): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = n > 1 ? (i + j) / 2 / (n - 1) : 1;
    i = j + 1;
  }
  return ranks;
}
