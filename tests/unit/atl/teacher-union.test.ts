/**
 * The rules that combine the teachers' own choices in `atl-teachers`, with known answers: which
 * teacher the support shows to be worse is set by construction.
 */
import { describe, expect, it } from 'vitest';
import { ONE_SHOT_CORRELATION_RATIO, oneShotTeachers, teachersNotWorse } from '../../../src/main/atl/teacher-union';

const penultimate = (teacher: string, correlation: number) => ({ teacher, correlation, penultimate: true });
const hidden = (teacher: string, correlation: number) => ({ teacher, correlation, penultimate: false });

describe('oneShotTeachers', () => {
  it(`leaves out a penultimate ${ONE_SHOT_CORRELATION_RATIO}× more correlated than another teacher's, and keeps one within that ratio`, () => {
    expect(oneShotTeachers([penultimate('a', 0.6), penultimate('b', 0.3)])).toEqual(['b']);
    expect(oneShotTeachers([penultimate('a', 0.44), penultimate('b', 0.3)])).toEqual(['a', 'b']);
    expect(oneShotTeachers([penultimate('a', 0.4), penultimate('b', 0.3), penultimate('c', 0.1)])).toEqual(['c']);
  });

  it("compares a penultimate with penultimates only, and a hidden choice with every choice", () => {
    // b's hidden layers spread the support far more than a's penultimate: a stays, it is not compared with them.
    expect(oneShotTeachers([penultimate('a', 0.3), hidden('b', 0.05)])).toEqual(['a', 'b']);
    // A hidden choice more correlated than another teacher's penultimate by the ratio is left out.
    expect(oneShotTeachers([hidden('a', 0.2), penultimate('b', 0.1)])).toEqual(['b']);
  });

  it('keeps beside a choice below zero correlation only choices at or below zero', () => {
    expect(oneShotTeachers([penultimate('a', -0.1), penultimate('b', 0.01), penultimate('c', 0)])).toEqual(['a', 'c']);
  });

  it('takes another ratio', () => {
    expect(oneShotTeachers([penultimate('a', 0.6), penultimate('b', 0.3)], 2)).toEqual(['a', 'b']);
  });
});

describe('teachersNotWorse', () => {
  const classes = 4;
  const labels = Int32Array.from({ length: 24 }, (_, i) => i % classes);
  /** A distance table (rows × classes) that puts `right` of the rows nearest their own class. */
  function table(right: (i: number) => boolean): Float64Array {
    const t = new Float64Array(labels.length * classes);
    labels.forEach((label, i) => {
      for (let c = 0; c < classes; c++) t[i * classes + c] = c === (right(i) ? label : (label + 1) % classes) ? 1 : 2;
    });
    return t;
  }
  const good = table(() => true);
  const alsoGood = table((i) => i !== 5);
  const poor = table((i) => i % 3 === 0);

  it('leaves out a teacher whose held-out likelihoods are clearly lower than the best one’s, and keeps one about as good', () => {
    expect(teachersNotWorse([{ teacher: 'a', tables: [poor] }, { teacher: 'b', tables: [good] }, { teacher: 'c', tables: [alsoGood] }], labels, classes, 0.05)).toEqual(['b', 'c']);
  });

  it('averages a teacher’s blocks before calibrating them', () => {
    // Two copies of one table are that table: b is kept beside a.
    expect(teachersNotWorse([{ teacher: 'a', tables: [good] }, { teacher: 'b', tables: [good, good] }], labels, classes, 0.05)).toEqual(['a', 'b']);
  });

  it('refuses an empty list', () => {
    expect(() => teachersNotWorse([], labels, classes, 0.05)).toThrow(/No teacher/);
  });
});
