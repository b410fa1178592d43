/**
 * Writes a trained head as a folder someone can ship: the model (ONNX, or a TF.js graph model
 * converted from the same ONNX graph), labels.json, preprocessing.json, a model card, and a
 * runnable predict.mjs with its package.json. The folder is written beside the target and renamed
 * into place at the end, so a failure never leaves half an export.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExportFormat, ExportResult } from '../../shared/contract';
import { APP_ROOT } from '../models/model-store';
import type { OpenTeacher } from '../models/teacher-service';
import { StudioError } from '../services/errors';
import type { StoredHead } from '../services/head-service';
import { checkTeacher } from '../services/prediction-service';
import { buildOnnxHeadModel, PROBABILITIES } from './onnx-export';

const MODEL_CARD = 'model-card.md';

/**
 * What an export writes, plus what `npm install` adds beside it: a folder holding nothing else is
 * an earlier export, which may be replaced. Anything else in it (the user's own files) is kept by
 * refusing the folder.
 */
const EXPORT_FILES = /^(model\.onnx|model\.json|group\d+-shard\d+of\d+\.bin|labels\.json|preprocessing\.json|model-card\.md|predict\.mjs|preprocess\.mjs|package\.json|package-lock\.json|node_modules)$/;

export async function exportHead(head: StoredHead, teacher: OpenTeacher, format: ExportFormat, target: string, studioVersion: string): Promise<ExportResult> {
  const dir = resolve(target);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new StudioError('invalid_input', `${dir} is a file: choose a folder`);
    const foreign = readdirSync(dir).filter((name) => !EXPORT_FILES.test(name));
    if (foreign.length > 0) {
      throw new StudioError('conflict', `${dir} holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}): choose an empty or new folder`);
    }
  } else if (!existsSync(dirname(dir))) {
    throw new StudioError('invalid_input', `The folder ${dirname(dir)} does not exist`);
  }
  checkTeacher(head, teacher);
  const onnxModel = await buildOnnxHeadModel(teacher.spec, teacher.extractor.layers, head.candidates, head.params);
  // A fresh staging folder per call: two exports at once never share one.
  const staging = mkdtempSync(join(dirname(dir), `.${basename(dir)}.partial-`));
  try {
    if (format === 'onnx') {
      writeFileSync(join(staging, 'model.onnx'), onnxModel.bytes);
      copyFileSync(join(APP_ROOT, 'resources/export/predict.mjs'), join(staging, 'predict.mjs'));
    } else {
      // The same graph, converted: one arithmetic for both formats.
      const { convertOnnxToTfjsGraph, writeTfjsGraphModel } = await import('./onnx-to-tfjs');
      await writeTfjsGraphModel(staging, convertOnnxToTfjsGraph(onnxModel.bytes, { source: head.summary.name }));
      copyFileSync(join(APP_ROOT, 'resources/export/predict-tfjs.mjs'), join(staging, 'predict.mjs'));
    }
    copyFileSync(join(APP_ROOT, 'resources/export/preprocess.mjs'), join(staging, 'preprocess.mjs'));
    const classes = head.summary.classes.map((c, index) => ({ index, id: c.id, name: c.name }));
    writeJson(join(staging, 'labels.json'), { classes });
    writeJson(join(staging, 'preprocessing.json'), {
      ...teacher.spec.preprocess,
      input: onnxModel.inputName,
      inputShape: onnxModel.inputShape,
      output: PROBABILITIES,
      decode: 'EXIF rotation applied; transparency flattened onto white; converted to sRGB; then resized',
    });
    writeJson(join(staging, 'package.json'), {
      name: 'atl-studio-exported-classifier',
      private: true,
      type: 'module',
      dependencies:
        format === 'onnx'
          ? { 'onnxruntime-node': '^1.30.0', sharp: '^0.35.5' }
          : { '@tensorflow/tfjs-core': '^4.22.0', '@tensorflow/tfjs-converter': '^4.22.0', '@tensorflow/tfjs-backend-wasm': '^4.22.0', sharp: '^0.35.5' },
    });
    writeFileSync(join(staging, MODEL_CARD), modelCard(head, teacher, format, studioVersion));
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return { dir, files: listFiles(dir) };
}

function modelCard(head: StoredHead, teacher: OpenTeacher, format: ExportFormat, studioVersion: string): string {
  const { summary } = head;
  const single = summary.classes.filter((c) => c.labels < 2).map((c) => c.name);
  const cv =
    summary.cvAccuracy === null
      ? 'not measured (fewer than two classes had two or more labels)'
      : `${(100 * summary.cvAccuracy).toFixed(1)} % ± ${(100 * (summary.cvCi95 ?? 0)).toFixed(1)} (95 % CI over ${summary.cvSplits} stratified splits holding out a quarter of each class` +
        (single.length > 0 ? `; classes with a single label were left out of it: ${single.join(', ')})` : ')');
  return [
    `# ${summary.name}`,
    '',
    `An image classifier exported by ATL Studio ${studioVersion} on ${new Date().toISOString().slice(0, 10)} (${format === 'onnx' ? 'ONNX' : 'TF.js graph model'}).`,
    '',
    '| | |',
    '|---|---|',
    `| Teacher | ${teacher.entry.name} (\`${teacher.entry.id}\`), license: ${teacher.entry.license} |`,
    `| Teacher weights sha256 | \`${summary.teacherSha256}\` |`,
    `| Strategy | \`${summary.strategy}\` |`,
    `| Layers used | ${head.candidates.map((c) => `\`${c.layer}\` (${c.pooling === 'gap' ? 'global average' : 'spatial grid'}, ${c.dim} values)`).join(', ')} |`,
    `| Trained | ${summary.createdAt} |`,
    `| Cross-validated accuracy | ${cv} |`,
    '',
    '## Training labels per class',
    '',
    '| class | labels |',
    '|---|---|',
    ...summary.classes.map((c) => `| ${c.name} | ${c.labels} |`),
    '',
    '## Use',
    '',
    '`npm install`, then `node predict.mjs <image>...` prints `[{ "path", "class", "confidence" }]`.',
    `The model takes preprocessed images (see preprocessing.json) and returns the probabilities of the classes in labels.json.`,
    '',
    '## Limits',
    '',
    `Trained on ${summary.classes.reduce((a, c) => a + c.labels, 0)} labeled images: the accuracy above is an estimate from those labels, not a guarantee on other data. It only knows the classes listed; an image of anything else still gets one of them.`,
    '',
  ].join('\n');
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

function listFiles(dir: string, prefix = ''): { name: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [{ name: `${prefix}${e.name}`, bytes: statSync(join(dir, e.name)).size }]));
}
