/**
 * The parity measure of the engine tests: max |ref − other| / max |ref| over one layer's values,
 * i.e. the worst error relative to the layer's own scale, so values near zero do not blow it up.
 */
export function relativeError(ref: Float32Array, other: Float32Array): number {
  if (ref.length !== other.length) throw new Error(`Compared ${ref.length} values with ${other.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i] - other[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}
