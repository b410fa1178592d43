import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasQuantizedKernels } from '../../src/main/engines/exact-integers';
import { PREPROCESSING_VERSION, type PreprocessSpec } from '../../src/main/engines/preprocess';
import type { TeacherSpec } from '../../src/main/engines/teachers';
import { FEATURE_PIPELINE_VERSION, FeatureCache, teacherKey } from '../../src/main/features/feature-cache';
import { SHARED } from '../helpers/fixtures';

const MOBILENET: PreprocessSpec = {
  width: 224,
  height: 224,
  resize: 'stretch',
  normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 },
  channelOrder: 'RGB',
  layout: 'NHWC',
};
const SHA = 'ab'.repeat(32);

/** The key the studio made before the resize moved out of sharp (its formula, as it was). */
function keyBeforeTheResizeChange(id: string, weightsSha256: string, preprocess: PreprocessSpec): string {
  const recipe = createHash('sha256').update(JSON.stringify({ preprocess, version: FEATURE_PIPELINE_VERSION })).digest('hex');
  return `${id}@${weightsSha256.slice(0, 16)}.${recipe.slice(0, 12)}`;
}

describe('feature cache key and the preprocessing version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atl-cache-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('differs from the key of vectors made with sharp’s resize, so those are computed again, never reused', () => {
    const old = keyBeforeTheResizeChange('mobilenet', SHA, MOBILENET);
    const current = teacherKey('mobilenet', SHA, MOBILENET);
    expect(current).not.toBe(old);
    expect(current.split('.')[0]).toBe(old.split('.')[0]); // same teacher and weights: only the recipe changed

    const cache = FeatureCache.openFile(join(dir, 'features.sqlite'));
    try {
      cache.put(old, 'gap', [{ imageSha256: 'f'.repeat(64), layer: 'pool', vector: new Float32Array([1, 2]) }]);
      expect(cache.missing(['f'.repeat(64)], old, ['pool'], 'gap')).toEqual([]);
      expect(cache.missing(['f'.repeat(64)], current, ['pool'], 'gap')).toEqual(['f'.repeat(64)]);
      expect(cache.get(['f'.repeat(64)], current, 'pool', 'gap')).toEqual([undefined]);
    } finally {
      cache.close();
    }
  });

  it('keys a quantized teacher apart from the vectors ONNX Runtime’s saturating int8 kernels made, and leaves every other key as it was', async () => {
    const before = createHash('sha256').update(JSON.stringify({ preprocess: MOBILENET, version: FEATURE_PIPELINE_VERSION, preprocessing: PREPROCESSING_VERSION })).digest('hex');
    expect(teacherKey('mobilenet', SHA, MOBILENET)).toBe(`mobilenet@${SHA.slice(0, 16)}.${before.slice(0, 12)}`);
    expect(teacherKey('mobilenet', SHA, MOBILENET, true)).not.toBe(teacherKey('mobilenet', SHA, MOBILENET));
    const onnxTeacher = (modelPath: string) => ({ format: 'onnx', modelPath }) as TeacherSpec;
    expect(await hasQuantizedKernels(onnxTeacher(join(SHARED, 'models/third-party/mobilenetv2-12-int8.onnx')))).toBe(true);
    expect(await hasQuantizedKernels(onnxTeacher(join(SHARED, 'models/resnet20_cifar10/resnet20_cifar10.onnx')))).toBe(false);
  });
});
