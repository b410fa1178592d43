/**
 * How `atl-teachers` combines the teachers' own choices (each teacher's `atl` set): pure functions
 * on the support's numbers, so each has a known answer. Teachers, unlike layers of one teacher,
 * err on different images, so the union of every good teacher's set gains over each alone; the
 * rules only leave out a teacher that the support shows to be clearly worse.
 *
 * Two or more shots (`teachersNotWorse`): every teacher whose set is not significantly worse held
 * out than the best teacher's.
 *
 * One shot (`oneShotTeachers`): nothing can be held out. A teacher's penultimate maps its own
 * classes onto nearly uncorrelated directions (a classifier pulls its classes apart) and images of
 * a foreign domain onto correlated ones; so a teacher whose choice keeps the support far more
 * correlated than another's is left out.
 */
import { StudioError } from '../core/errors';
import { studentTUpperQuantile } from './student-t';
import { heldOutLogLikelihoods, tStatistic } from './support-cv';

/** One teacher's set: its held-out distance tables (one per chosen candidate, `rows × classes`). */
export interface TeacherTables {
  teacher: string;
  tables: readonly Float64Array[];
}

/**
 * The teachers whose sets are not clearly worse held out than the best one: each example's
 * calibrated held-out log-likelihood (`heldOutLogLikelihoods`) under the best set (the highest
 * total) minus under the teacher's, and a one-sided paired t-test at `level`, Bonferroni-corrected
 * for the other teachers; a teacher is left out only when the test finds the best set better.
 */
export function teachersNotWorse(sets: readonly TeacherTables[], labels: Int32Array, classes: number, level: number): string[] {
  if (sets.length === 0) throw new StudioError('invalid_input', 'No teacher to choose from');
  const likelihoods = sets.map((set) => {
    const sum = new Float64Array(labels.length * classes);
    for (const table of set.tables) table.forEach((v, i) => (sum[i] += v));
    return heldOutLogLikelihoods(sum, set.tables.length, labels, classes);
  });
  const total = likelihoods.map((l) => l.reduce((a, b) => a + b, 0));
  const best = total.indexOf(Math.max(...total));
  const threshold = studentTUpperQuantile(level / Math.max(1, sets.length - 1), Math.max(1, labels.length - 1));
  return sets.filter((_, t) => t === best || tStatistic(likelihoods[best].map((v, i) => v - likelihoods[t][i])) < threshold).map((s) => s.teacher);
}

/**
 * How many times less correlated another teacher's choice must keep the support to leave a
 * teacher out at one shot (see `oneShotTeachers`).
 */
export const ONE_SHOT_CORRELATION_RATIO = 1.5;

/** One teacher's one-shot choice: the mean pairwise correlation of the support under it, and whether it is the teacher's penultimate. */
export interface OneShotChoice {
  teacher: string;
  correlation: number;
  penultimate: boolean;
}

/**
 * The teachers kept at one shot: all but those whose choice keeps the support's examples (one per
 * class) `ratio` times more correlated than another's. A penultimate is compared only with the
 * other teachers' penultimates: a foreign teacher's hidden layers spread every support, within
 * classes too, so their low correlation does not show better classes; a foreign teacher's hidden
 * choice is compared with every choice. Below zero correlation (classes further apart than
 * unrelated vectors), only choices also at or below zero stay beside it.
 */
export function oneShotTeachers(choices: readonly OneShotChoice[], ratio = ONE_SHOT_CORRELATION_RATIO): string[] {
  const lowest = (among: readonly OneShotChoice[]) => Math.min(...among.map((c) => c.correlation));
  const lowestPenultimate = lowest(choices.filter((c) => c.penultimate));
  const lowestAll = lowest(choices);
  return choices
    .filter((c) => {
      const best = c.penultimate ? lowestPenultimate : lowestAll;
      return c.correlation <= best || c.correlation <= ratio * Math.max(best, 0);
    })
    .map((c) => c.teacher);
}
