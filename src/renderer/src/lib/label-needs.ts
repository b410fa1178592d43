/**
 * What a class's labels are short of, so that "needs more" is something to act on (issue 15): a
 * comparison in episodes of N shots takes a class only with N labeled images to learn from and at
 * least one more to test on (atl/comparison.ts fits the queries to what the classes have); one in
 * stratified splits, with one to learn from and one to test on (atl/episodes.ts). Training takes
 * any class with one label.
 */
import type { ComparisonConfig } from '../../../shared/contract';

/** Labels each class needs for a comparison with this mode and these shot counts. */
export function labelsToCompare(mode: ComparisonConfig['mode'], shots: readonly number[]): number {
  return mode === 'splits' ? 2 : Math.max(1, ...shots) + 1;
}

/** What a class of `labels` labels lacks for the comparison, in words for its badge and tooltip; null when nothing. */
export function classShortfall(labels: number, mode: ComparisonConfig['mode'], shots: readonly number[]): { badge: string; why: string } | null {
  const needed = labelsToCompare(mode, shots);
  if (labels >= needed) return null;
  const what = mode === 'splits' ? 'a comparison in splits' : `the ${Math.max(1, ...shots)}-shot comparison`;
  const training = labels === 0 ? ' Training leaves it out until it has one.' : '';
  return { badge: `needs ${needed - labels} more`, why: `${what[0].toUpperCase()}${what.slice(1)} needs ${needed} labeled images in a class (to learn from and to test on); this one has ${labels}.${training}` };
}
