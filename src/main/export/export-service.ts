/**
 * Writes a trained head as a folder someone can ship: the model (ONNX, or a TF.js graph model
 * converted from the same ONNX graph; it takes decoded RGB pixels and holds the resize and
 * normalization), labels.json, preprocessing.json, a model card, a runnable predict.mjs with its
 * package.json and .npmrc (and optionally the packages predict.mjs needs), and a browser page,
 * predict-browser.html, with the TF.js or onnxruntime-web files it loads in web-runtime/. A folder is only written when new or empty, or over an untouched earlier export, and
 * atomically (see export-folder.ts): the user's own files are never deleted or replaced.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExportFormat, ExportResult } from '../../shared/contract';
import { APP_ROOT } from '../models/model-store';
import type { OpenTeacher } from '../models/teacher-service';
import type { StoredHead } from '../services/head-service';
import { checkTeachers } from '../services/prediction-service';
import { checkExportTarget, replaceAtomically } from './export-folder';
import { buildOnnxHeadModel, PIXELS, PROBABILITIES } from './onnx-export';
import { copyRuntimePackages } from './runtime-packages';

const MODEL_CARD = 'model-card.md';

/** The files the browser page loads, per format, from the studio's node_modules (into web-runtime/). */
const WEB_RUNTIME: Record<ExportFormat, string[]> = {
  // The WebAssembly-only build, and the module + binary it loads (threads need cross-origin isolation; the page asks for one).
  onnx: ['onnxruntime-web/dist/ort.wasm.min.js', 'onnxruntime-web/dist/ort-wasm-simd-threaded.mjs', 'onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'],
  // tfjs with its WebGL and CPU backends, and the WebAssembly backend with its three binaries (it picks one per browser).
  tfjs: [
    '@tensorflow/tfjs/dist/tf.min.js',
    '@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js',
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
    '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
  ],
};

/** How a client must decode an image before feeding the model: what the studio's `decodeImage` does. */
const DECODE = 'Decode the image file to 8-bit RGB at its own size: EXIF orientation applied, transparency flattened onto white, sRGB; no resizing (the model resizes).';

/** What the graph does with the pixels, for people (the same steps as the studio's `preprocessPixels`). */
const IN_GRAPH =
  "uint8 → float; per teacher: center crop to the teacher's aspect if its resize is center-crop (box height min(H, ⌊W·h/w⌋), width min(W, ⌊H·w/h⌋), top ⌊(H − height)/2⌋, left ⌊(W − width)/2⌋; the ONNX function ai.atl_studio.CenterCrop); " +
  'bilinear resize to the teacher size with half-pixel centers and antialiasing (a triangle filter as wide as the shrink, weights normalized to sum 1, as PIL and torchvision antialias=True; the ONNX function ai.atl_studio.ResizeAntialiased, as two matrix products); normalization; layout';

/** What predict.mjs imports, per format: the exported package.json's dependencies (sharp decodes; the model resizes). */
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
    copyFileSync(join(APP_ROOT, 'resources/export/decode.mjs'), join(staging, 'decode.mjs'));
    writeBrowserPage(staging, format);
    const classes = head.summary.classes.map((c, index) => ({ index, id: c.id, name: c.name }));
    writeJson(join(staging, 'labels.json'), { classes });
    // The model's input, and per teacher what the graph makes of it (for people: the graph does it).
    writeJson(join(staging, 'preprocessing.json'), {
      input: PIXELS,
      dtype: 'uint8',
      shape: ['height', 'width', 3],
      decode: DECODE,
      inGraph: IN_GRAPH,
      teachers: teachers.map((t, i) => ({ teacher: t.entry.id, ...t.spec.preprocess, teacherInput: onnxModel.teacherInputs[i].name, teacherInputShape: onnxModel.teacherInputs[i].shape })),
      output: PROBABILITIES,
    });
    writeJson(join(staging, 'package.json'), { name: 'atl-studio-exported-classifier', private: true, type: 'module', dependencies: DEPENDENCIES[format] });
    writeFileSync(join(staging, '.npmrc'), NPMRC);
    if (options.includeRuntime) copyRuntimePackages(Object.keys(DEPENDENCIES[format]), APP_ROOT, staging);
    writeFileSync(join(staging, MODEL_CARD), modelCard(head, teachers, format, studioVersion, options.includeRuntime === true));
  });
  return { dir, files: listFiles(dir) };
}

/** predict-browser.html (its runtime's script tags filled in), its script, and the runtime's files in web-runtime/. */
function writeBrowserPage(staging: string, format: ExportFormat): void {
  mkdirSync(join(staging, 'web-runtime'));
  const scripts = WEB_RUNTIME[format].filter((path) => path.endsWith('.min.js')).map((path) => `  <script src="web-runtime/${path.split('/').pop()}"></script>`);
  for (const path of WEB_RUNTIME[format]) copyFileSync(join(APP_ROOT, 'node_modules', path), join(staging, 'web-runtime', path.split('/').pop()!));
  const page = readFileSync(join(APP_ROOT, 'resources/export/predict-browser.html'), 'utf8').replace('<!-- runtime -->', scripts.join('\n').trimStart());
  writeFileSync(join(staging, 'predict-browser.html'), page);
  copyFileSync(join(APP_ROOT, 'resources/export/predict-browser.mjs'), join(staging, 'predict-browser.mjs'));
}

function modelCard(head: StoredHead, teachers: readonly OpenTeacher[], format: ExportFormat, studioVersion: string, withRuntime: boolean): string {
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
    ...useInput(teachers),
    '',
    '### Node',
    '',
    ...(withRuntime ? useWithRuntime() : useWithInstall()),
    '',
    '`node predict.mjs` prints `[{ "path", "class", "confidence" }]`, one per image. It decodes with sharp (decode.mjs) and feeds the pixels.',
    '',
    ...useInBrowser(format),
    '',
    ...useInPython(format),
    '',
    '## Limits',
    '',
    `Trained on ${summary.classes.reduce((a, c) => a + c.labels, 0)} labeled images: the accuracy above is an estimate from those labels, not a guarantee on other data. It only knows the classes listed; an image of anything else still gets one of them.`,
    '',
  ].join('\n');
}

/** What the model takes and does, the same for every client. */
function useInput(teachers: readonly OpenTeacher[]): string[] {
  const sizes = teachers.map((t) => `${t.spec.preprocess.width}×${t.spec.preprocess.height} for ${t.entry.name} (${t.spec.preprocess.resize})`).join(', ');
  return [
    `The model takes one image as its input \`${PIXELS}\`: uint8 RGB pixels, shape [height, width, 3], any height and width, row-major. It returns \`${PROBABILITIES}\` [1, classes], in the order of labels.json.`,
    `${DECODE} The graph does the rest, as ATL Studio did for training: resize to ${sizes}, bilinear with half-pixel centers and antialiasing (every pixel of a large photo counts; do not shrink it yourself, the model does it as the studio did), then the teacher's normalization (preprocessing.json).`,
  ];
}

/** The model card's browser section: the page in the export and what a web developer does with it. */
function useInBrowser(format: ExportFormat): string[] {
  const runtime = format === 'onnx' ? 'onnxruntime-web (WebAssembly)' : 'TF.js (WebGL where the browser has it, else WebAssembly)';
  return [
    '### Browser',
    '',
    `predict-browser.html runs the model with ${runtime}; the files it loads are in this folder (web-runtime/), so it works offline. Serve the folder with any static file server (browsers do not run WebAssembly from file:// pages), e.g.`,
    '',
    '```',
    'npx http-server -p 8080 .        # or: python3 -m http.server 8080',
    '```',
    '',
    'and open http://localhost:8080/predict-browser.html: pick or drop images to see each class and confidence. For your own page, copy predict-browser.mjs, the model files, labels.json and web-runtime/ beside it, load the runtime script as predict-browser.html does, and call:',
    '',
    '```js',
    "const results = await window.atlPredict(['photos/cat.jpg']); // [{ url, class, confidence }]",
    '```',
    '',
    "The page decodes as the studio does: createImageBitmap(file, { imageOrientation: 'from-image' }) (EXIF orientation), drawn at its natural size onto a white canvas (transparency flattened onto white), getImageData; the RGBA bytes become RGB and go to the model unresized.",
  ];
}

/** The model card's Python section: PIL and numpy decode, onnxruntime runs the ONNX model. */
function useInPython(format: ExportFormat): string[] {
  const model = format === 'onnx' ? 'model.onnx' : 'model.onnx (export this head again as ONNX: Python has no TF.js runtime)';
  return [
    '### Python',
    '',
    `With \`pip install onnxruntime pillow numpy\` and ${model}: decode only, do not resize.`,
    '',
    '```python',
    'import json, numpy as np, onnxruntime as ort',
    'from PIL import Image, ImageOps',
    '',
    "image = ImageOps.exif_transpose(Image.open('image.jpg'))",
    "if image.mode in ('RGBA', 'LA', 'P'):  # flatten transparency onto white",
    "    image = image.convert('RGBA')",
    "    image = Image.alpha_composite(Image.new('RGBA', image.size, 'white'), image)",
    "pixels = np.asarray(image.convert('RGB'), dtype=np.uint8)  # [height, width, 3]",
    "session = ort.InferenceSession('model.onnx')",
    `probabilities = session.run(['${PROBABILITIES}'], {'${PIXELS}': pixels})[0][0]`,
    "classes = json.load(open('labels.json'))['classes']",
    "print(classes[int(probabilities.argmax())]['name'], float(probabilities.max()))",
    '```',
  ];
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
