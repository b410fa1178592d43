/**
 * Writes a trained head as a folder someone can ship: the model (ONNX, or a TF.js graph model
 * converted from the same ONNX graph), labels.json, preprocessing.json, a model card, and a
 * runnable predict.mjs with its package.json and .npmrc, and optionally the packages predict.mjs
 * needs. A folder is only written when new or empty, or over an untouched earlier export, and
 * atomically (see export-folder.ts): the user's own files are never deleted or replaced.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExportFormat, ExportResult } from '../../shared/contract';
import { APP_ROOT } from '../models/model-store';
import type { OpenTeacher } from '../models/teacher-service';
import type { StoredHead } from '../services/head-service';
import { checkTeachers } from '../services/prediction-service';
import { checkExportTarget, replaceAtomically } from './export-folder';
import { buildOnnxHeadModel, PROBABILITIES } from './onnx-export';
import { copyRuntimePackages } from './runtime-packages';

const MODEL_CARD = 'model-card.md';

/** What predict.mjs imports, per format: the exported package.json's dependencies. */
const DEPENDENCIES: Record<ExportFormat, Record<string, string>> = {
  onnx: { 'onnxruntime-node': '^1.30.0', sharp: '^0.35.5' },
  tfjs: { '@tensorflow/tfjs-core': '^4.22.0', '@tensorflow/tfjs-converter': '^4.22.0', '@tensorflow/tfjs-backend-wasm': '^4.22.0', sharp: '^0.35.5' },
};

/**
 * The export's .npmrc. The only install script among predict.mjs's dependencies is
 * onnxruntime-node's postinstall, which downloads CUDA libraries from api.nuget.org on Linux x64
 * (predict.mjs runs on the CPU and never loads them); on a machine that reaches only the npm
 * registry it fails, and `npm install` with it. sharp's prebuilt binaries are packages, no script.
 */
const NPMRC = `# predict.mjs needs no install scripts: this skips onnxruntime-node's download of CUDA libraries
# (from api.nuget.org, which a machine reaching only the npm registry cannot reach).
ignore-scripts=true
`;

export interface ExportOptions {
  /** Copy the runtime packages from the studio's own node_modules, so predict.mjs runs with no install. */
  includeRuntime?: boolean;
}

/** `teachers`: the head's, in its order (`openHeadTeachers`). */
export async function exportHead(
  head: StoredHead,
  teachers: readonly OpenTeacher[],
  format: ExportFormat,
  target: string,
  studioVersion: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const dir = resolve(target);
  checkExportTarget(dir); // before the model is built, so a refused folder fails fast
  checkTeachers(head, teachers);
  const onnxModel = await buildOnnxHeadModel(
    teachers.map((t) => ({ id: t.entry.id, spec: t.spec, layers: t.extractor.layers })),
    head.candidates,
    head.params,
  );
  await replaceAtomically(dir, studioVersion, async (staging) => {
    mkdirSync(staging);
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
    const inputs = teachers.map((t, i) => ({ ...t.spec.preprocess, input: onnxModel.inputs[i].name, inputShape: onnxModel.inputs[i].shape }));
    const decode = 'EXIF rotation applied; transparency flattened onto white; converted to sRGB; then resized';
    // One teacher: its input's preprocessing at the top level, as always; several: one entry per input.
    writeJson(
      join(staging, 'preprocessing.json'),
      inputs.length === 1
        ? { ...inputs[0], output: PROBABILITIES, decode }
        : { inputs: inputs.map((input, i) => ({ teacher: teachers[i].entry.id, ...input })), output: PROBABILITIES, decode },
    );
    writeJson(join(staging, 'package.json'), { name: 'atl-studio-exported-classifier', private: true, type: 'module', dependencies: DEPENDENCIES[format] });
    writeFileSync(join(staging, '.npmrc'), NPMRC);
    if (options.includeRuntime) copyRuntimePackages(Object.keys(DEPENDENCIES[format]), APP_ROOT, staging);
    writeFileSync(join(staging, MODEL_CARD), modelCard(head, teachers, onnxModel.inputs.map((i) => i.name), format, studioVersion, options.includeRuntime === true));
  });
  return { dir, files: listFiles(dir) };
}

function modelCard(head: StoredHead, teachers: readonly OpenTeacher[], inputNames: readonly string[], format: ExportFormat, studioVersion: string, withRuntime: boolean): string {
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
    ...teachers.flatMap((teacher, i) => [
      `| Teacher${teachers.length > 1 ? ` ${i + 1}` : ''} | ${teacher.entry.name} (\`${teacher.entry.id}\`), license: ${teacher.entry.license} |`,
      `| Teacher${teachers.length > 1 ? ` ${i + 1}` : ''} weights sha256 | \`${teacher.weightsSha256}\` |`,
    ]),
    `| Strategy | \`${summary.strategy}\` |`,
    `| Layers used | ${head.candidates.map((c) => `\`${c.teacher ? `${c.teacher}/` : ''}${c.layer}\` (${c.pooling === 'gap' ? 'global average' : 'spatial grid'}, ${c.dim} values)`).join(', ')} |`,
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
    ...(withRuntime ? useWithRuntime() : useWithInstall()),
    '',
    '`node predict.mjs` prints `[{ "path", "class", "confidence" }]`, one per image.',
    teachers.length === 1
      ? `The model takes preprocessed images (see preprocessing.json) and returns the probabilities of the classes in labels.json.`
      : `The model reads ${teachers.length} teachers and takes one input per teacher: ${teachers.map((t, i) => `\`${inputNames[i]}\` (${t.entry.name})`).join(', ')}, the same image prepared as that teacher's images are (its entry in preprocessing.json's \`inputs\`: size, resize, normalization, layout); predict.mjs prepares each from the image file. It returns the probabilities of the classes in labels.json.`,
    '',
    '## Limits',
    '',
    `Trained on ${summary.classes.reduce((a, c) => a + c.labels, 0)} labeled images: the accuracy above is an estimate from those labels, not a guarantee on other data. It only knows the classes listed; an image of anything else still gets one of them.`,
    '',
  ].join('\n');
}

/** The model card's commands for an export that holds its runtime packages. */
function useWithRuntime(): string[] {
  return [
    `The packages predict.mjs needs are in node_modules/, for ${process.platform}-${process.arch}: no install and no network needed.`,
    '',
    '```',
    'node predict.mjs <image>...',
    '```',
    '',
    'On another platform, delete node_modules/ and run `npm install` first (it needs the npm registry).',
  ];
}

/** The model card's commands for an export without its runtime packages. */
function useWithInstall(): string[] {
  return [
    'Where the npm registry is reachable (nothing else is needed: .npmrc skips install scripts, such as the download of CUDA libraries):',
    '',
    '```',
    'npm install',
    'node predict.mjs <image>...',
    '```',
    '',
    'For a machine with no network, export again with the runtime included (ATL Studio: *Include the runtime*; `atl-studio export … --include-runtime`).',
  ];
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The export's files, and one entry per folder (node_modules/) with its total size. */
function listFiles(dir: string): { name: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({ name: e.isDirectory() ? `${e.name}/` : e.name, bytes: totalBytes(join(dir, e.name)) }));
}

function totalBytes(path: string): number {
  const stats = statSync(path);
  return stats.isDirectory() ? readdirSync(path).reduce((sum, name) => sum + totalBytes(join(path, name)), 0) : stats.size;
}
