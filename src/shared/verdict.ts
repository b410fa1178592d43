/**
 * The comparison's answer in one sentence a domain expert can act on: which strategy to train, and
 * why, read from the paired confidence intervals the run stores (each strategy's difference to
 * `penultimate`, and the column winner rule: best mean, clear of the runner-up).
 *
 * The verdict reads the column with the most labels per class (splits of all labels count as the
 * most): a trained head learns from every label, so that column is the closest to what it will
 * meet. Other columns whose answer differs are added as notes.
 */
import type { ComparisonCell, StrategyName } from './contract';

export type VerdictCell = Pick<ComparisonCell, 'strategy' | 'shots' | 'mean' | 'repeats' | 'deltaVsPenultimate' | 'deltaCi95' | 'winner'>;

export interface Verdict {
  /** What to train: a strategy's label (its name, with any parameters that differ from the defaults). */
  strategy: string;
  /** The column it was read at: labels per class, 0 for all labels (splits). */
  shots: number;
  /** better: reliably ahead of `penultimate`; baseline: nothing is, so the simplest; only: nothing else was run. */
  kind: 'better' | 'baseline' | 'only';
  /** e.g. "Train `atl`: +15.0 points over `penultimate` at 5 labels per class (95 % CI +13.0 to +17.0)". */
  text: string;
  /** Columns whose answer differs, e.g. "At 1 label per class: `ncm`, +8.0 points (95 % CI +3.0 to +12.0)". */
  notes: string[];
}

const BASELINE: StrategyName = 'penultimate';

const points = (fraction: number) => `${fraction >= 0 ? '+' : '−'}${Math.abs(fraction * 100).toFixed(1)}`;

/** "at 5 labels per class", "at 1 label per class", "on held-out splits of all labels". */
export function labelsPhrase(shots: number): string {
  if (shots === 0) return 'on held-out splits of all labels';
  return `at ${shots} ${shots === 1 ? 'label' : 'labels'} per class`;
}

/** A strategy reliably ahead of penultimate: its paired difference has a 95 % CI above 0 (over at least 2 episodes). */
function reliablyBetter(cell: VerdictCell): boolean {
  return cell.strategy !== BASELINE && cell.repeats >= 2 && cell.deltaVsPenultimate - cell.deltaCi95 > 0;
}

interface ColumnAnswer {
  strategy: string;
  kind: Verdict['kind'];
  /** After "Train `x`: ". */
  reason: string;
}

function answerColumn(column: readonly VerdictCell[]): ColumnAnswer {
  const shots = column[0].shots;
  const at = labelsPhrase(shots);
  if (column.every((c) => c.strategy === BASELINE)) return { strategy: BASELINE, kind: 'only', reason: `the only strategy in this run (nothing to compare ${at})` };
  const winner = column.find((c) => c.winner);
  if (winner?.strategy === BASELINE) return { strategy: BASELINE, kind: 'baseline', reason: `reliably better than every other strategy ${at}` };
  const better = column.filter(reliablyBetter).sort((a, b) => b.mean - a.mean);
  if (better.length === 0) return { strategy: BASELINE, kind: 'baseline', reason: `no strategy is reliably better ${at} (simplest)` };
  // The column's winner when there is one; else the best mean of those ahead of penultimate.
  const chosen = winner && better.includes(winner) ? winner : better[0];
  const low = chosen.deltaVsPenultimate - chosen.deltaCi95;
  const high = chosen.deltaVsPenultimate + chosen.deltaCi95;
  let reason = `${points(chosen.deltaVsPenultimate)} points over \`${BASELINE}\` ${at} (95\u00a0% CI ${points(low)} to ${points(high)})`; // no line break inside "95 %"
  if (!winner) {
    const runnerUp = column.filter((c) => c !== chosen).sort((a, b) => b.mean - a.mean)[0];
    reason += `; \`${runnerUp.strategy}\` is not reliably different`;
  }
  return { strategy: chosen.strategy, kind: 'better', reason };
}

/** The verdict of a run's cells, or null when it has none (a run cancelled or failed before any result). */
export function comparisonVerdict(cells: readonly VerdictCell[]): Verdict | null {
  if (cells.length === 0) return null;
  // All labels (shots 0) is the most labels per class there can be.
  const columns = [...new Set(cells.map((c) => c.shots))].sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b));
  const deciding = columns.at(-1)!;
  const answer = answerColumn(cells.filter((c) => c.shots === deciding));
  const notes = columns.slice(0, -1).flatMap((shots) => {
    const other = answerColumn(cells.filter((c) => c.shots === shots));
    if (other.strategy === answer.strategy) return [];
    const [first, ...rest] = labelsPhrase(shots);
    return [`${first.toUpperCase()}${rest.join('')}: \`${other.strategy}\`, ${other.reason.replace(` ${labelsPhrase(shots)}`, '')}`];
  });
  return { strategy: answer.strategy, shots: deciding, kind: answer.kind, text: `Train \`${answer.strategy}\`: ${answer.reason}`, notes };
}
