/**
 * Layouts and shapes. Every converted value keeps its ONNX shape and a permutation `perm`: the TF
 * tensor is the ONNX tensor transposed by `perm` (TF axis i holds ONNX axis perm[i]).
 */

export const identity = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
/** The layout TF.js convolutions run in: ONNX NCHW seen as NHWC. */
export const NHWC = [0, 2, 3, 1];
export const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
export const inverse = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};
/** The layout left when ONNX axes `removed` disappear (reductions without keepdims, scalar gathers). */
export function dropAxes(perm: readonly number[], removed: readonly number[]): number[] {
  const kept = perm.filter((p) => !removed.includes(p));
  return kept.map((p) => p - removed.filter((r) => r < p).length);
}
export const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** The Transpose perm taking a tensor in layout `from` to layout `to`. */
export function transposePerm(from: readonly number[], to: readonly number[]): number[] {
  const inv = inverse(from);
  return to.map((p) => inv[p]);
}

export const normalizeAxis = (axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
};

/** The numpy broadcast of `shapes` to `rank` dims; −1 (the batch) matches any size. */
export function broadcastShapes(shapes: number[][], rank: number): number[] {
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
    padded.forEach((d, i) => {
      if (d === 1) return;
      if (out[i] !== 1 && out[i] !== d && out[i] !== -1 && d !== -1) throw new Error(`cannot broadcast [${shapes.join('], [')}]`);
      out[i] = out[i] === 1 || out[i] === -1 ? d : out[i];
    });
  }
  return out;
}
