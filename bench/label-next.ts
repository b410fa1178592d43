/**
 * Does "label next" pay? A simulation on real images with their true classes: start from one label
 * per class, then add labels in batches, (a) in random order, (b) in the order `suggestOrder`
 * proposes (margin uncertainty of the current head + k-center diversity). After each batch a head
 * is fitted on the labels and scored on a fixed held-out test set that is never labeled. Three
 * seeds, averaged. Prints a table; writes bench-results/label-next.json and label-next.png.
 *   npm run bench:label-next
 * Teacher: the studio's default (MobileNet v1), penultimate features. Head: logistic regression
 * (`penultimate`) on cifar10-mini; nearest class mean (`ncm`) on omniglot-small1, where 136
 * classes and up to ~800 labels make a logistic fit per batch too slow for a benchmark.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { candidatePlan, loadCandidateFeatures } from '../src/main/features/candidate-features';
import { scanLabeledFolder } from '../src/main/services/dataset';
import type { FeatureSet } from '../src/main/atl/features';
import { headInputs, headPredict, headProbabilities } from '../src/main/atl/head-params';
import { accuracy } from '../src/main/atl/matrix';
import { createStrategy, type StrategyName } from '../src/main/atl/strategies';
import { marginUncertainty, suggestOrder, SUGGEST_DEFAULTS } from '../src/main/atl/suggest';
import { FeatureCache } from '../src/main/features/feature-cache';
import type { TeacherService } from '../src/main/models/teacher-service';
import { createTeacherService } from '../src/main/app/composition-root';
import { seededRandom } from '../src/shared/seeded-random';

const SHARED = resolve(import.meta.dirname, '../../shared/datasets');
const OUT = resolve(import.meta.dirname, '../bench-results');
const SEEDS = [1, 2, 3];
/** `--typicality <power>` overrides the studio's default weighting, to explore it. */
const typicalityArg = process.argv.indexOf('--typicality');
const typicalityPower = typicalityArg > 0 ? Number(process.argv[typicalityArg + 1]) : SUGGEST_DEFAULTS.typicalityPower;

interface Setup {
  name: string;
  folder: string;
  strategy: StrategyName;
  /** Per class, held out for testing (never labeled). */
  testPerClass: number;
  batch: number;
  rounds: number;
}

const SETUPS: Setup[] = [
  { name: 'cifar10-mini', folder: join(SHARED, 'cifar10-mini'), strategy: 'penultimate', testPerClass: 15, batch: 10, rounds: 12 },
  { name: 'omniglot-small1', folder: join(SHARED, 'omniglot-small1'), strategy: 'ncm', testPerClass: 5, batch: 68, rounds: 10 },
];

interface Curve {
  labels: number[];
  random: number[];
  suggested: number[];
}

async function loadFeatures(folder: string, teachers: TeacherService, modelId: string): Promise<{ features: FeatureSet; classes: number[] }> {
  const { images } = await scanLabeledFolder(folder);
  const teacher = await teachers.get(modelId);
  const penultimate = teacher.extractor.layers.filter((l) => l.penultimate);
  mkdirSync(OUT, { recursive: true });
  const cache = FeatureCache.openFile(join(OUT, `label-next-cache-${createHash('sha256').update(folder).digest('hex').slice(0, 8)}.sqlite`));
  try {
    const loaded = await loadCandidateFeatures({
      extractor: teacher.extractor,
      teacherKey: teacher.key,
      plan: candidatePlan(penultimate, penultimate).slice(0, 1),
      cache,
      images: images.map((i) => ({ path: i.path, sha256: createHash('sha256').update(readFileSync(i.path)).digest('hex') })),
      onProgress: (_, p) => process.stderr.write(`\rfeatures: ${p.cached + p.done}/${p.total}   `),
    });
    process.stderr.write('\n');
    const names = [...new Set(images.map((i) => i.className))];
    return { features: loaded.features, classes: loaded.rows.map((i) => names.indexOf(images[i].className)) };
  } finally {
    cache.close();
  }
}

/** Accuracy on the test rows after each batch, for one order policy. */
function simulate(features: FeatureSet, classes: number[], setup: Setup, seed: number, policy: 'random' | 'suggested'): number[] {
  const random = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  classes.forEach((c, row) => byClass.set(c, [...(byClass.get(c) ?? []), row]));
  const test: number[] = [];
  const labeled: number[] = [];
  let pool: number[] = [];
  for (const rows of byClass.values()) {
    const shuffled = shuffle(rows, random);
    test.push(...shuffled.slice(0, setup.testPerClass));
    labeled.push(shuffled[setup.testPerClass]);
    pool.push(...shuffled.slice(setup.testPerClass + 1));
  }
  pool = shuffle(pool, random);
  const testSet = features.select(test);
  const testLabels = Int32Array.from(test, (r) => classes[r]);
  const scores: number[] = [];
  for (let round = 0; round <= setup.rounds; round++) {
    const head = createStrategy(setup.strategy).fit(features.select(labeled), Int32Array.from(labeled, (r) => classes[r])).toHead();
    // Labels are 0 … K−1 in class order because every class has a label from the start.
    scores.push(accuracy(headPredict(head, testSet), testLabels));
    if (round === setup.rounds) break;
    let picked: number[];
    if (policy === 'random') picked = pool.slice(0, setup.batch);
    else {
      const all = [...labeled, ...pool];
      const x = headInputs(head, features.select(all));
      const uncertainty = marginUncertainty(headProbabilities(head, features.select(pool)), head.classes);
      const order = suggestOrder(x, labeled.map((_, i) => i), pool.map((_, i) => labeled.length + i), uncertainty, { count: setup.batch, typicalityPower });
      picked = order.map((s) => all[s.row]);
    }
    const taken = new Set(picked);
    labeled.push(...picked);
    pool = pool.filter((r) => !taken.has(r));
  }
  return scores;
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Labels the suggested order needs to reach `target` (linear between batches), or null if it never does. */
function labelsToReach(curve: Curve, target: number): number | null {
  // Accuracies are means of counts: equal ones may differ in the last bit.
  const reached = (v: number) => v >= target - 1e-9;
  for (let i = 0; i < curve.suggested.length; i++) {
    if (reached(curve.suggested[i])) {
      if (i === 0) return curve.labels[0];
      const [a, b] = [curve.suggested[i - 1], curve.suggested[i]];
      return Math.round(curve.labels[i - 1] + ((target - a) / (b - a)) * (curve.labels[i] - curve.labels[i - 1]));
    }
  }
  return null;
}

/** A line chart of both curves per dataset, drawn as SVG and rasterized by sharp. */
async function plot(results: { setup: Setup; curve: Curve }[], path: string): Promise<void> {
  const [w, h, pad] = [520, 340, 56];
  const panels = results.map(({ setup, curve }, p) => {
    const x0 = p * w;
    const xs = (n: number) => x0 + pad + ((n - curve.labels[0]) / (curve.labels.at(-1)! - curve.labels[0])) * (w - 2 * pad);
    const lo = Math.floor(10 * Math.min(...curve.random, ...curve.suggested)) / 10;
    const hi = Math.ceil(10 * Math.max(...curve.random, ...curve.suggested)) / 10;
    const ys = (v: number) => h - pad - ((v - lo) / (hi - lo)) * (h - 2 * pad);
    const line = (values: number[], color: string) =>
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${values.map((v, i) => `${xs(curve.labels[i]).toFixed(1)},${ys(v).toFixed(1)}`).join(' ')}"/>`;
    const ticks = Array.from({ length: Math.round((hi - lo) * 10) + 1 }, (_, i) => lo + i / 10)
      .map((v) => `<text x="${x0 + pad - 8}" y="${ys(v) + 4}" text-anchor="end">${Math.round(100 * v)}%</text><line x1="${x0 + pad}" x2="${x0 + w - pad}" y1="${ys(v)}" y2="${ys(v)}" stroke="#ddd"/>`)
      .join('');
    const xticks = curve.labels
      .filter((_, i) => i % 2 === 0)
      .map((n) => `<text x="${xs(n)}" y="${h - pad + 18}" text-anchor="middle">${n}</text>`)
      .join('');
    return `<g font-family="sans-serif" font-size="12" fill="#333">
      <text x="${x0 + w / 2}" y="24" text-anchor="middle" font-size="15">${setup.name} (${setup.strategy} head)</text>
      ${ticks}${xticks}
      <text x="${x0 + w / 2}" y="${h - 10}" text-anchor="middle">labels</text>
      ${line(curve.random, '#999')}${line(curve.suggested, '#1f77b4')}
      <text x="${x0 + pad + 10}" y="${pad - 8}" fill="#1f77b4">suggested</text><text x="${x0 + pad + 90}" y="${pad - 8}" fill="#777">random</text>
    </g>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w * results.length}" height="${h}"><rect width="100%" height="100%" fill="white"/>${panels.join('')}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

const teachers = createTeacherService();
const modelId = teachers.store.defaultId;
const results: { setup: Setup; curve: Curve; labelsToReachRandomFinal: number | null; seconds: number }[] = [];
try {
  for (const setup of SETUPS) {
    const { features, classes } = await loadFeatures(setup.folder, teachers, modelId);
    const started = performance.now();
    const runs = SEEDS.map((seed) => ({ random: simulate(features, classes, setup, seed, 'random'), suggested: simulate(features, classes, setup, seed, 'suggested') }));
    const classCount = new Set(classes).size;
    const curve: Curve = {
      labels: Array.from({ length: setup.rounds + 1 }, (_, i) => classCount + i * setup.batch),
      random: runs[0].random.map((_, i) => mean(runs.map((r) => r.random[i]))),
      suggested: runs[0].suggested.map((_, i) => mean(runs.map((r) => r.suggested[i]))),
    };
    results.push({ setup, curve, labelsToReachRandomFinal: labelsToReach(curve, curve.random.at(-1)!), seconds: (performance.now() - started) / 1000 });
  }
} finally {
  await teachers.dispose();
}

console.log(`Label-next simulation: teacher ${modelId}, mean of seeds ${SEEDS.join(', ')}, typicality power ${typicalityPower}`);
for (const { setup, curve, labelsToReachRandomFinal, seconds } of results) {
  console.log(`\n${setup.name} (${setup.strategy} head, batches of ${setup.batch}, ${setup.testPerClass} test images per class; ${seconds.toFixed(1)} s)`);
  console.log('labels  random  suggested  suggested labels for random\'s accuracy');
  curve.labels.forEach((n, i) => {
    const needed = labelsToReach(curve, curve.random[i]);
    console.log(`${String(n).padStart(6)}  ${(100 * curve.random[i]).toFixed(1).padStart(6)}  ${(100 * curve.suggested[i]).toFixed(1).padStart(9)}  ${String(needed ?? '–').padStart(6)}`);
  });
  const final = curve.labels.at(-1)!;
  console.log(
    labelsToReachRandomFinal === null
      ? `suggested never reached random's final ${(100 * curve.random.at(-1)!).toFixed(1)} %`
      : `suggested reaches random's final accuracy (${(100 * curve.random.at(-1)!).toFixed(1)} % at ${final} labels) with ${labelsToReachRandomFinal} labels: ${final - labelsToReachRandomFinal} fewer (${((100 * (final - labelsToReachRandomFinal)) / final).toFixed(0)} %)`,
  );
}
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'label-next.json'), `${JSON.stringify({ teacher: modelId, seeds: SEEDS, typicalityPower, results: results.map(({ setup, ...r }) => ({ dataset: setup.name, strategy: setup.strategy, batch: setup.batch, testPerClass: setup.testPerClass, ...r })) }, null, 2)}\n`);
await plot(results, join(OUT, 'label-next.png'));
console.log(`\nWrote ${join(OUT, 'label-next.json')} and label-next.png`);
