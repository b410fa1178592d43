/** The comparison's verdict, on hand-made cells whose answer is known. */
import { describe, expect, it } from 'vitest';
import type { StrategyName } from '../../src/shared/contract';
import { comparisonVerdict, type VerdictCell } from '../../src/shared/verdict';

/** A cell: mean and paired difference to penultimate (± CI) in points, 20 episodes unless told. */
function cell(strategy: StrategyName, shots: number, mean: number, delta = 0, ci = 0, winner = false, repeats = 20): VerdictCell {
  return { strategy, shots, mean: mean / 100, deltaVsPenultimate: delta / 100, deltaCi95: ci / 100, winner, repeats };
}

describe('comparisonVerdict', () => {
  it('says nothing about a run without results', () => {
    expect(comparisonVerdict([])).toBeNull();
  });

  it('recommends penultimate, the simplest, when every difference to it is within its CI (ties)', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 80), cell('atl', 5, 81, 1, 2), cell('ncm', 5, 79, -1, 1.5)]);
    expect(verdict).toEqual({
      strategy: 'penultimate',
      shots: 5,
      kind: 'baseline',
      text: 'Train `penultimate`: no strategy is reliably better at 5 labels per class (simplest)',
      notes: [],
    });
  });

  it('recommends the column winner with its paired difference to penultimate and that CI', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 70), cell('atl', 5, 85, 15, 2, true), cell('head2toe', 5, 75, 5, 2)]);
    expect(verdict?.text).toBe('Train `atl`: +15.0 points over `penultimate` at 5 labels per class (95\u00a0% CI +13.0 to +17.0)');
    expect(verdict).toMatchObject({ strategy: 'atl', kind: 'better', notes: [] });
  });

  it('with overlapping CIs and no winner, takes the best mean of those reliably ahead of penultimate and says the runner-up is as good', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 70), cell('atl', 5, 80, 10, 3), cell('head2toe', 5, 79, 9, 3), cell('ncm', 5, 71, 1, 3)]);
    expect(verdict?.text).toBe(
      'Train `atl`: +10.0 points over `penultimate` at 5 labels per class (95\u00a0% CI +7.0 to +13.0); `head2toe` is not reliably different',
    );
  });

  it('never recommends a best mean whose own difference to penultimate is not clear of 0', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 70), cell('all-layers', 5, 74, 4, 5), cell('ncm', 5, 72, 2, 1)]);
    expect(verdict).toMatchObject({ strategy: 'ncm', kind: 'better' });
    expect(verdict?.text).toMatch(/^Train `ncm`: \+2\.0 points over `penultimate` at 5 labels per class \(95\u00a0% CI \+1\.0 to \+3\.0\); `all-layers` is not reliably different$/);
  });

  it('reads the column with the most labels per class, and notes the shot counts whose winner differs', () => {
    const verdict = comparisonVerdict([
      cell('penultimate', 1, 50),
      cell('ncm', 1, 58, 8, 4, true),
      cell('atl', 1, 52, 2, 3),
      cell('penultimate', 5, 70),
      cell('ncm', 5, 71, 1, 2),
      cell('atl', 5, 85, 15, 2, true),
      cell('penultimate', 3, 60),
      cell('ncm', 3, 62, 2, 1),
      cell('atl', 3, 70, 10, 2, true),
    ]);
    expect(verdict).toMatchObject({ strategy: 'atl', shots: 5, kind: 'better' });
    expect(verdict?.notes).toEqual(['At 1 label per class: `ncm`, +8.0 points over `penultimate` (95\u00a0% CI +4.0 to +12.0)']);
  });

  it('notes a shot count where nothing beats penultimate', () => {
    const verdict = comparisonVerdict([cell('penultimate', 1, 50), cell('atl', 1, 51, 1, 3), cell('penultimate', 5, 70), cell('atl', 5, 80, 10, 2, true)]);
    expect(verdict?.notes).toEqual(['At 1 label per class: `penultimate`, no strategy is reliably better (simplest)']);
  });

  it('says when penultimate itself is the reliable winner', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 80, 0, 0, true), cell('ncm', 5, 70, -10, 2)]);
    expect(verdict).toMatchObject({ strategy: 'penultimate', kind: 'baseline' });
    expect(verdict?.text).toBe('Train `penultimate`: reliably better than every other strategy at 5 labels per class');
  });

  it('with one strategy only, recommends it and says nothing was compared', () => {
    const verdict = comparisonVerdict([cell('penultimate', 1, 60), cell('penultimate', 5, 80)]);
    expect(verdict).toMatchObject({ strategy: 'penultimate', kind: 'only', notes: [] });
    expect(verdict?.text).toBe('Train `penultimate`: the only strategy in this run (nothing to compare at 5 labels per class)');
  });

  it('does not trust a single episode, whose CI is 0 by construction', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 60, 0, 0, false, 1), cell('atl', 5, 80, 20, 0, false, 1)]);
    expect(verdict).toMatchObject({ strategy: 'penultimate', kind: 'baseline' });
  });

  it('names splits of all labels as such', () => {
    const verdict = comparisonVerdict([cell('penultimate', 0, 70), cell('atl', 0, 90, 20, 5, true)]);
    expect(verdict?.text).toBe('Train `atl`: +20.0 points over `penultimate` on held-out splits of all labels (95\u00a0% CI +15.0 to +25.0)');
  });
});

describe('comparisonVerdict with several teachers', () => {
  const TEACHERS = [
    { id: 'mobilenet', name: 'MobileNet' },
    { id: 'resnet56', name: 'ResNet-56' },
  ];
  const of = (teacher: string, c: VerdictCell): VerdictCell => ({ ...c, teacher });

  it('names the teacher to train with and the first teacher’s penultimate as the baseline', () => {
    const verdict = comparisonVerdict(
      [
        of('mobilenet', cell('penultimate', 5, 60)),
        of('mobilenet', cell('atl', 5, 61, 1, 2)),
        of('resnet56', cell('penultimate', 5, 80, 20, 2)),
        of('resnet56', cell('atl', 5, 87, 27, 2, true)),
      ],
      TEACHERS,
    );
    expect(verdict).toEqual({
      strategy: 'atl',
      teacher: 'resnet56',
      shots: 5,
      kind: 'better',
      text: 'Train `atl` with ResNet-56: +27.0 points over `penultimate` of MobileNet at 5 labels per class (95\u00a0% CI +25.0 to +29.0)',
      notes: [],
    });
  });

  it('takes another teacher’s penultimate as a candidate like any strategy, and names the runner-up’s teacher', () => {
    const verdict = comparisonVerdict(
      [of('mobilenet', cell('penultimate', 5, 60)), of('resnet56', cell('penultimate', 5, 80, 20, 2)), of('resnet56', cell('atl', 5, 79, 19, 2))],
      TEACHERS,
    );
    expect(verdict?.text).toBe(
      'Train `penultimate` with ResNet-56: +20.0 points over `penultimate` of MobileNet at 5 labels per class (95\u00a0% CI +18.0 to +22.0); `atl` with ResNet-56 is not reliably different',
    );
    expect(verdict).toMatchObject({ strategy: 'penultimate', teacher: 'resnet56' });
  });

  it('recommends the baseline teacher’s penultimate when nothing is reliably ahead, and names atl-teachers’ teachers (*) in a note', () => {
    const verdict = comparisonVerdict(
      [
        of('mobilenet', cell('penultimate', 1, 50)),
        of('resnet56', cell('penultimate', 1, 51, 1, 3)),
        of('*', cell('atl-teachers', 1, 58, 8, 2, true)),
        of('mobilenet', cell('penultimate', 5, 70)),
        of('resnet56', cell('penultimate', 5, 70.5, 0.5, 2)),
        of('*', cell('atl-teachers', 5, 71, 1, 2)),
      ],
      TEACHERS,
    );
    expect(verdict).toMatchObject({ strategy: 'penultimate', teacher: 'mobilenet', kind: 'baseline' });
    expect(verdict?.text).toBe('Train `penultimate` with MobileNet: no strategy is reliably better at 5 labels per class (simplest)');
    expect(verdict?.notes).toEqual(['At 1 label per class: `atl-teachers` with MobileNet + ResNet-56, +8.0 points over `penultimate` of MobileNet (95\u00a0% CI +6.0 to +10.0)']);
  });

  it('with one teacher names none, as before', () => {
    const verdict = comparisonVerdict([cell('penultimate', 5, 70), cell('atl', 5, 85, 15, 2, true)], [TEACHERS[0]]);
    expect(verdict?.text).toBe('Train `atl`: +15.0 points over `penultimate` at 5 labels per class (95\u00a0% CI +13.0 to +17.0)');
    expect(verdict).not.toHaveProperty('teacher');
  });
});
