/**
 * The comparison's answer in one sentence a domain expert can act on: which strategy to train, and
 * why, read from the paired confidence intervals the run stores (each strategy's difference to
 * `penultimate`, and the column winner rule: best mean, clear of the runner-up).
 *
 * The verdict reads the column with the most labels per class (splits of all labels count as the
 * most): a trained head learns from every label, so that column is the closest to what it will
 * meet. Other columns whose answer differs are added as notes.
 *
 * With several teachers, a cell is a teacher × strategy, the verdict names the teacher, and the
 * baseline is the first teacher's `penultimate` (every stored Δ is against it).
 */
import type { ComparisonCell, StrategyName } from './contract';

export type VerdictCell = Pick<ComparisonCell, 'teacher' | 'strategy' | 'shots' | 'mean' | 'repeats' | 'deltaVsPenultimate' | 'deltaCi95' | 'winner'>;

export interface Verdict {
  /** What to train: a strategy's label (its name, with any parameters that differ from the defaults). */
  strategy: string;
  /** With several teachers: the teacher to train it with (an id, or `*` for `atl-teachers` on all of them). */
  teacher?: string;
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

/** The teachers of a run, the baseline first, as the verdict names them; absent or one: no teacher is named. */
export type VerdictTeachers = readonly { id: string; name: string }[];

/** How the verdict names cells and which one is the baseline, for one teacher or several. */
class Naming {
  private readonly several: boolean;

  constructor(private readonly teachers: VerdictTeachers = []) {
    this.several = teachers.length > 1;
  }

  /** The first teacher's `penultimate` (with one teacher, `penultimate`). */
  isBaseline(cell: VerdictCell): boolean {
    return cell.strategy === BASELINE && (!this.several || cell.teacher === this.teachers[0].id);
  }

  /** "`atl`", or with several teachers "`atl` with ResNet-56" (`*`: every teacher's name joined by +). */
  of(cell: Pick<VerdictCell, 'strategy' | 'teacher'>): string {
    if (!this.several) return `\`${cell.strategy}\``;
    const teacher = cell.teacher === '*' ? this.teachers.map((t) => t.name).join(' + ') : (this.teachers.find((t) => t.id === cell.teacher)?.name ?? cell.teacher);
    return `\`${cell.strategy}\` with ${teacher}`;
  }

  get baseline(): string {
    return this.several ? `\`${BASELINE}\` of ${this.teachers[0].name}` : `\`${BASELINE}\``;
  }

  get baselineCell(): Pick<VerdictCell, 'strategy' | 'teacher'> {
    return this.several ? { strategy: BASELINE, teacher: this.teachers[0].id } : { strategy: BASELINE };
  }
}

interface ColumnAnswer {
  cell: Pick<VerdictCell, 'strategy' | 'teacher'>;
  kind: Verdict['kind'];
  /** After "Train `x`: ". */
  reason: string;
}

function answerColumn(column: readonly VerdictCell[], naming: Naming): ColumnAnswer {
  const shots = column[0].shots;
  const at = labelsPhrase(shots);
  const baseline = naming.baselineCell;
  if (column.every((c) => naming.isBaseline(c))) return { cell: baseline, kind: 'only', reason: `the only strategy in this run (nothing to compare ${at})` };
  const winner = column.find((c) => c.winner);
  if (winner && naming.isBaseline(winner)) return { cell: baseline, kind: 'baseline', reason: `reliably better than every other strategy ${at}` };
  // Reliably ahead of the baseline: the paired difference has a 95 % CI above 0 (over at least 2 episodes).
  const better = column.filter((c) => !naming.isBaseline(c) && c.repeats >= 2 && c.deltaVsPenultimate - c.deltaCi95 > 0).sort((a, b) => b.mean - a.mean);
  if (better.length === 0) return { cell: baseline, kind: 'baseline', reason: `no strategy is reliably better ${at} (simplest)` };
  // The column's winner when there is one; else the best mean of those ahead of penultimate.
  const chosen = winner && better.includes(winner) ? winner : better[0];
  const low = chosen.deltaVsPenultimate - chosen.deltaCi95;
  const high = chosen.deltaVsPenultimate + chosen.deltaCi95;
  let reason = `${points(chosen.deltaVsPenultimate)} points over ${naming.baseline} ${at} (95\u00a0% CI ${points(low)} to ${points(high)})`; // no line break inside "95 %"
  if (!winner) {
    const runnerUp = column.filter((c) => c !== chosen).sort((a, b) => b.mean - a.mean)[0];
    reason += `; ${naming.of(runnerUp)} is not reliably different`;
  }
  return { cell: { strategy: chosen.strategy, teacher: chosen.teacher }, kind: 'better', reason };
}

/**
 * The verdict of a run's cells, or null when it has none (a run cancelled or failed before any
 * result). `teachers`: the run's teachers, the baseline first; with several, the verdict names them.
 */
export function comparisonVerdict(cells: readonly VerdictCell[], teachers?: VerdictTeachers): Verdict | null {
  if (cells.length === 0) return null;
  const naming = new Naming(teachers);
  // All labels (shots 0) is the most labels per class there can be.
  const columns = [...new Set(cells.map((c) => c.shots))].sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b));
  const deciding = columns.at(-1)!;
  const answer = answerColumn(cells.filter((c) => c.shots === deciding), naming);
  const notes = columns.slice(0, -1).flatMap((shots) => {
    const other = answerColumn(cells.filter((c) => c.shots === shots), naming);
    if (other.cell.strategy === answer.cell.strategy && other.cell.teacher === answer.cell.teacher) return [];
    const [first, ...rest] = labelsPhrase(shots);
    return [`${first.toUpperCase()}${rest.join('')}: ${naming.of(other.cell)}, ${other.reason.replace(` ${labelsPhrase(shots)}`, '')}`];
  });
  return {
    strategy: answer.cell.strategy,
    ...(answer.cell.teacher === undefined ? {} : { teacher: answer.cell.teacher }),
    shots: deciding,
    kind: answer.kind,
    text: `Train ${naming.of(answer.cell)}: ${answer.reason}`,
    notes,
  };
}
