// AssemblyScript, compiled by scripts/build-wasm.mjs into src/main/engines/resample-wasm-binary.ts.
//
// The hot loop of extraction: `preprocessPixels`'s antialiased bilinear resize and per-channel
// affine map, the same arithmetic as `resampled` in src/main/engines/preprocess.ts, bit for bit
// (IEEE float64 operations in the same order, rounded to float32 where it rounds: WebAssembly has
// no fused multiply-add). What makes it faster: no bounds checks, and the vertical pass does two
// values at a time (SIMD).
//
// Memory is the caller's: it places every array and passes their byte offsets. Taps (see
// `filterTaps`): per output index its first source pixel (x: as a byte offset in a row; y: as a row
// of the filtered rows) and tap count (i32), and all weights one after the other (f64).

/** Every source row filtered along x: row r of `src` into `filtered` + r · outW · 3 (f64: interleaved x·3 + c, or planar c·outW + x). */
function horizontal(src: usize, rowBytes: i32, rows: i32, outW: i32, xFirst: usize, xCount: usize, xWeights: usize, filtered: usize, planar: bool): void {
  const rowLength = outW * 3;
  for (let r = 0; r < rows; r++) {
    const row = src + <usize>(r * rowBytes);
    const into = filtered + (<usize>(r * rowLength) << 3);
    let weights = xWeights;
    for (let x = 0; x < outW; x++) {
      const first = row + <usize>load<i32>(xFirst + (<usize>x << 2));
      const count = load<i32>(xCount + (<usize>x << 2));
      let s0: f64 = 0;
      let s1: f64 = 0;
      let s2: f64 = 0;
      for (let k = 0; k < count; k++) {
        const w = load<f64>(weights + (<usize>k << 3));
        const at = first + <usize>(k * 3);
        s0 += w * <f64>load<u8>(at);
        s1 += w * <f64>load<u8>(at + 1);
        s2 += w * <f64>load<u8>(at + 2);
      }
      weights += <usize>count << 3;
      if (planar) {
        store<f64>(into + (<usize>x << 3), s0);
        store<f64>(into + (<usize>(outW + x) << 3), s1);
        store<f64>(into + (<usize>(2 * outW + x) << 3), s2);
      } else {
        const at = into + (<usize>(x * 3) << 3);
        store<f64>(at, s0);
        store<f64>(at + 8, s1);
        store<f64>(at + 16, s2);
      }
    }
  }
}

/**
 * `length` output values from `count` filtered rows `stride` bytes apart, from `rows` on:
 * fround(Σₖ wₖ · rowₖ) · scale + offset, stored as float32 at `out`.
 */
function vertical(rows: usize, stride: usize, weights: usize, count: i32, scale: usize, offset: usize, out: usize, length: i32): void {
  let i = 0;
  for (; i + 2 <= length; i += 2) {
    const at = <usize>i << 3;
    let sum = f64x2.splat(0);
    for (let k = 0; k < count; k++) {
      sum = f64x2.add(sum, f64x2.mul(f64x2.splat(load<f64>(weights + (<usize>k << 3))), v128.load(rows + <usize>k * stride + at)));
    }
    const rounded = f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(sum));
    const value = f64x2.add(f64x2.mul(rounded, v128.load(scale + at)), v128.load(offset + at));
    v128.store64_lane(out + (<usize>i << 2), f32x4.demote_f64x2_zero(value), 0);
  }
  for (; i < length; i++) {
    const at = <usize>i << 3;
    let sum: f64 = 0;
    for (let k = 0; k < count; k++) sum += load<f64>(weights + (<usize>k << 3)) * load<f64>(rows + <usize>k * stride + at);
    store<f32>(out + (<usize>i << 2), <f32>(<f64>(<f32>sum) * load<f64>(scale + at) + load<f64>(offset + at)));
  }
}

/**
 * Resizes and maps the `rows` source rows of an RGB image at `src` (bytes, `rowBytes` a row) to
 * outW × outH × 3 float32 at `out`, NHWC or NCHW (`planar`). `scale` and `offset`: f64 per value of
 * an output row, in the row's order. `filtered`: room for `rows` rows of outW × 3 f64.
 */
export function resample(src: usize, rowBytes: i32, rows: i32, outW: i32, outH: i32, xFirst: usize, xCount: usize, xWeights: usize, yFirst: usize, yCount: usize, yWeights: usize, scale: usize, offset: usize, filtered: usize, out: usize, planar: bool): void {
  horizontal(src, rowBytes, rows, outW, xFirst, xCount, xWeights, filtered, planar);
  const rowLength = outW * 3;
  const stride = <usize>rowLength << 3;
  let weights = yWeights;
  for (let y = 0; y < outH; y++) {
    const first = filtered + <usize>load<i32>(yFirst + (<usize>y << 2)) * stride;
    const count = load<i32>(yCount + (<usize>y << 2));
    if (planar) {
      for (let c = 0; c < 3; c++) {
        const part = <usize>(c * outW) << 3;
        vertical(first + part, stride, weights, count, scale + part, offset + part, out + (<usize>(c * outW * outH + y * outW) << 2), outW);
      }
    } else {
      vertical(first, stride, weights, count, scale, offset, out + (<usize>(y * rowLength) << 2), rowLength);
    }
    weights += <usize>count << 3;
  }
}
