import { describe, expect, it } from 'vitest';
import { SUPPORTED_OPS } from '../../../src/main/export/onnx-to-tfjs';
import { CONV_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-conv';
import { ELEMENTWISE_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-elementwise';
import { IMAGE_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-image';
import { LINEAR_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-linear';
import { QUANTIZED_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-quantized';
import { REDUCE_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-reduce';
import { SHAPE_LOWERINGS } from '../../../src/main/export/onnx-to-tfjs/ops-shape';

const FAMILIES = {
  conv: CONV_LOWERINGS,
  elementwise: ELEMENTWISE_LOWERINGS,
  image: IMAGE_LOWERINGS,
  linear: LINEAR_LOWERINGS,
  quantized: QUANTIZED_LOWERINGS,
  reduce: REDUCE_LOWERINGS,
  shape: SHAPE_LOWERINGS,
};

describe('ONNX → TF.js op lowerings', () => {
  // index.ts merges the families' tables by spreading them: an op in two families would silently
  // take the last one's lowering.
  it('each ONNX op is lowered by exactly one family, and the converter supports exactly their union', () => {
    const owners = new Map<string, string[]>();
    for (const [family, table] of Object.entries(FAMILIES)) {
      for (const op of Object.keys(table)) owners.set(op, [...(owners.get(op) ?? []), family]);
    }
    const claimedTwice = [...owners].filter(([, families]) => families.length > 1);
    expect(claimedTwice).toEqual([]);
    expect([...SUPPORTED_OPS]).toEqual([...owners.keys()].sort());
  });
});
