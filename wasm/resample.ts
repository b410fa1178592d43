// AssemblyScript, compiled by scripts/build-wasm.mjs into src/main/engines/resample-wasm-binary.ts.
//
// The hot loop of extraction: `preprocessPixels`'s bilinear resize and per-channel affine map, the
// same arithmetic as `resampled` in src/main/engines/preprocess.ts, bit for bit (IEEE float64
// operations in the same order, rounded to float32 where it rounds: WebAssembly has no fused
// multiply-add). What makes it faster: each source row is interpolated along x once and kept
// (`horizontal`), not once per output row that reads it, and the vertical pass does two values at
// a time (SIMD) without JavaScript's bounds checks.
//
// Memory is the caller's: it places every array and passes their byte offsets.

/** Source row `row` (bytes) interpolated at every output column, into `into` (float64: interleaved x·3 + c, or planar c·outW + x). */
function horizontal(row: usize, outW: i32, x0: usize, x1: usize, wx: usize, into: usize, planar: bool): void {
  for (let x = 0; x < outW; x++) {
    const a = row + <usize>load<i32>(x0 + (<usize>x << 2));
    const b = row + <usize>load<i32>(x1 + (<usize>x << 2));
    const w = load<f64>(wx + (<usize>x << 3));
    for (let c = 0; c < 3; c++) {
      const va = <f64>load<u8>(a + c);
      const vb = <f64>load<u8>(b + c);
      const at = planar ? <usize>(c * outW + x) : <usize>(x * 3 + c);
      store<f64>(into + (at << 3), va + (vb - va) * w);
    }
  }
}

/** `count` output values: fround(upper + (lower − upper)·w) · scale + offset, stored as float32. */
function vertical(upper: usize, lower: usize, w: f64, scale: usize, offset: usize, out: usize, count: i32): void {
  const wv = f64x2.splat(w);
  let i = 0;
  for (; i + 2 <= count; i += 2) {
    const at = <usize>i << 3;
    const u = v128.load(upper + at);
    const l = v128.load(lower + at);
    const rounded = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(f64x2.add(u, f64x2.mul(f64x2.sub(l, u), wv))));
    const value = f64x2.add(f64x2.mul(rounded, v128.load(scale + at)), v128.load(offset + at));
    v128.store64_lane(out + (<usize>i << 2), f32x4.demote_f64x2_zero(value), 0);
  }
  for (; i < count; i++) {
    const at = <usize>i << 3;
    const u = load<f64>(upper + at);
    const rounded = <f64>(<f32>(u + (load<f64>(lower + at) - u) * w));
    store<f32>(out + (<usize>i << 2), <f32>(rounded * load<f64>(scale + at) + load<f64>(offset + at)));
  }
}

/**
 * Resizes and maps an RGB image (bytes, `rowBytes` a row) to outW × outH × 3 float32 at `out`, NHWC
 * or NCHW (`planar`). Columns: source byte offsets `x0`, `x1` (i32) and weights `wx` (f64) per
 * output x; rows: source rows `y0`, `y1` (i32) and weights `wy` (f64) per output y. `scale` and
 * `offset`: f64 per value of an output row, in the row's order. `rowA`, `rowB`: room for two rows
 * of outW × 3 f64.
 */
export function resample(src: usize, rowBytes: i32, outW: i32, outH: i32, x0: usize, x1: usize, wx: usize, y0: usize, y1: usize, wy: usize, scale: usize, offset: usize, rowA: usize, rowB: usize, out: usize, planar: bool): void {
  let upper = rowA;
  let lower = rowB;
  let upperRow = -1;
  let lowerRow = -1;
  for (let y = 0; y < outH; y++) {
    const low = load<i32>(y0 + (<usize>y << 2));
    const high = load<i32>(y1 + (<usize>y << 2));
    const w = load<f64>(wy + (<usize>y << 3));
    if (low != upperRow) {
      if (low == lowerRow) {
        // Upsampling: the previous lower row is this upper one.
        const swap = upper;
        upper = lower;
        lower = swap;
        upperRow = low;
        lowerRow = -1;
      } else {
        horizontal(src + <usize>(low * rowBytes), outW, x0, x1, wx, upper, planar);
        upperRow = low;
      }
    }
    if (high != lowerRow) {
      horizontal(src + <usize>(high * rowBytes), outW, x0, x1, wx, lower, planar);
      lowerRow = high;
    }
    if (planar) {
      for (let c = 0; c < 3; c++) {
        const part = <usize>(c * outW) << 3;
        vertical(upper + part, lower + part, w, scale + part, offset + part, out + (<usize>(c * outW * outH + y * outW) << 2), outW);
      }
    } else {
      vertical(upper, lower, w, scale, offset, out + (<usize>(y * outW * 3) << 2), outW * 3);
    }
  }
}
