/**
 * Every job of the studio on projects of real images at 10,000 and ~70,000 (Fashion-MNIST written
 * as PNGs by bench/scale-data.ts, plus the CIFAR-10 JPEGs of ../shared): import (rate, peak
 * memory), opening the project (`info`) and listing images, feature extraction cancelled a third of
 * the way and resumed, training (and a training cancelled after a split) and comparison on 5,000
 * labels, prediction over every image, label-next over the whole unlabeled pool, and the grid
 * through Playwright when bench/grid-scroll.ts is there. Prints a table per size; writes bench-results/scale.json.
 *   npm run bench:scale [-- --sizes 10000,70500] [--skip-extraction] [--skip-grid] [--teacher <size>=<id>,...]
 * Peak memory is the process's peak resident set during the job (Linux VmHWM, reset before each job).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { planComparisonRun, runComparison } from '../src/main/app/compare';
import { createTeacherService } from '../src/main/app/composition-root';
import { extractFeatures, planExtraction } from '../src/main/app/extract-features';
import { importImages } from '../src/main/app/import-images';
import type { JobHandle } from '../src/main/app/job-runner';
import { planPrediction, predictProject } from '../src/main/app/predict';
import { suggestNext } from '../src/main/app/suggest';
import { planTraining, trainHead } from '../src/main/app/train';
import { HEAD_CV } from '../src/main/services/head-service';
import type { TeacherService } from '../src/main/models/teacher-service';
import { Project } from '../src/main/services/project';
import { FIRST_IMAGE_PAGE } from '../src/shared/image-pages';
import { scaleFolder, scaleImages, writeFashionMnist } from './scale-data';

export interface ScaleOptions {
  size: number;
  /** Teacher for extraction, training, prediction and label-next. */
  teacher: string;
  /** Human labels given before training, comparison, prediction and label-next (spread evenly over the images). */
  labels: number;
  skipExtraction?: boolean;
  /** Measures the grid in Chromium on the project (needs the built renderer); absent: not measured. */
  measureGrid?: (projectPath: string) => Promise<Record<string, number>>;
  log?: (line: string) => void;
}

export interface ScaleRow {
  size: number;
  teacher: string;
  job: string;
  seconds: number;
  /** CPU time of the process (every thread), which other work on the machine inflates far less than `seconds`. */
  cpuSeconds: number;
  /** A grid figure (bench/grid-scroll.ts), named in `job`; `seconds` is then 0. */
  value?: number;
  /** Images per second, where the job goes through images. */
  rate?: number;
  /** Resident memory when the job started, and its peak during the job. */
  rssBeforeMb: number;
  peakRssMb: number;
  /** The machine's 1-minute load average when the job ended (2 cores here: above 2, other work competed). */
  load: number;
  note?: string;
}

/** The process's peak resident memory since the last reset, in MB (Linux; elsewhere the current RSS). */
function peakRssMb(): number {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
    if (kb > 0) return kb / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss() / 2 ** 20;
}

function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  } catch {
    // not Linux: the peak is then the process's
  }
}

/** A job cancelled by its handle's `stopWhen`: whether it ended cancelled (a null result) and how soon after the cancel (at the job's end). */
function cancelNote(result: unknown, handle: { abortedAt: number }): string {
  return `${result === null ? 'cancelled' : 'NOT cancelled'}, stopped ${((performance.now() - handle.abortedAt) / 1000).toFixed(2)} s after the cancel`;
}

/** A job handle that records the last progress report and aborts when `stopWhen` says so. */
function jobHandle(stopWhen?: (done: number, total: number) => boolean): JobHandle & { controller: AbortController; reports: number; abortedAt: number } {
  const controller = new AbortController();
  const handle = {
    controller,
    reports: 0,
    /** performance.now() when `stopWhen` cancelled the job. */
    abortedAt: 0,
    signal: controller.signal,
    report: ({ done, total }: { done: number; total: number }) => {
      handle.reports++;
      if (stopWhen?.(done, total) && !controller.signal.aborted) {
        handle.abortedAt = performance.now();
        controller.abort();
      }
    },
  };
  return handle;
}

/** Runs every job on a new project of the first `size` scale images; the project is deleted after. */
export async function runScale(options: ScaleOptions, teachers: TeacherService): Promise<ScaleRow[]> {
  const { size, teacher, log = console.error } = options;
  const rows: ScaleRow[] = [];
  const measure = async <T>(job: string, work: () => Promise<T>, describe: (result: T, seconds: number) => Partial<ScaleRow> = () => ({})): Promise<T> => {
    global.gc?.();
    resetPeakRss();
    const rssBeforeMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const row: ScaleRow = { size, teacher, job, seconds: round(seconds, 3), cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2), rssBeforeMb, peakRssMb: Math.round(peakRssMb()), load: round(loadavg()[0], 1), ...describe(result, seconds) };
    rows.push(row);
    log(`  ${size} ${job}: ${row.seconds} s (CPU ${row.cpuSeconds} s)${row.rate ? `, ${row.rate}/s` : ''}, RSS ${row.rssBeforeMb} → peak ${row.peakRssMb} MB, load ${row.load}${row.note ? ` (${row.note})` : ''}`);
    return result;
  };

  const folder = scaleFolder(size);
  const dir = mkdtempSync(join(tmpdir(), 'atl-scale-'));
  const projectPath = join(dir, `scale-${size}.atl`);
  try {
    let project = Project.create(projectPath);
    const report = await measure('import', () => importImages(project, { paths: [folder], labelsFromFolders: false }, jobHandle()), (r, s) => ({
      rate: round(r.imported / s, 1),
      note: `${r.imported} imported, ${r.failed.length} failed`,
    }));
    if (report.imported !== size) throw new Error(`Imported ${report.imported} of ${size} images`);
    project.close();

    project = await measure('open + info', async () => {
      const opened = Project.open(projectPath);
      opened.images.count();
      opened.classes.list();
      return opened;
    });
    // What opening the project costs the grid: its first page (then the rest streams in behind it).
    await measure('grid first page', async () => project.images.page({ kind: 'all' }, 'import', 0, FIRST_IMAGE_PAGE), (r) => ({ note: `${r.rows.length} of ${r.total} rows, ${(JSON.stringify(r).length / 2 ** 20).toFixed(2)} MB as JSON` }));
    const listed = await measure('list all images', async () => project.images.list({ kind: 'all' }, 'import'), (r) => ({ note: `${r.length} rows, ${(JSON.stringify(r).length / 2 ** 20).toFixed(2)} MB as JSON` }));

    const labeled = labelEvenly(project, listed, options.labels);
    await measure('list one class', async () => project.images.list({ kind: 'class', classId: project.classes.list()[0].id }, 'name'), (r) => ({ note: `${r.length} rows` }));
    await measure('list unlabeled', async () => project.images.list({ kind: 'unlabeled' }, 'import'), (r) => ({ note: `${r.length} rows` }));

    const extraction = await planExtraction(teachers, { modelId: teacher, layers: 'all', pooling: 'gap' });
    if (!options.skipExtraction) {
      const cancelAt = Math.round(size / 3);
      const first = await measure('extract, cancelled at a third', () => extractFeatures(project, extraction, { modelId: teacher, layers: 'all', pooling: 'gap' }, jobHandle((done) => done >= cancelAt)), (r, s) => ({
        rate: round(r.done / s, 1),
        note: `${r.done} of ${r.total} extracted, cancelled: ${r.cancelled}`,
      }));
      await measure('extract, resumed', () => extractFeatures(project, extraction, { modelId: teacher, layers: 'all', pooling: 'gap' }, jobHandle()), (r, s) => ({
        rate: round(r.done / s, 1),
        note: `${r.cached} cached (the cancelled run kept ${first.done}), ${r.done} extracted, ${r.failures.length} failed`,
      }));
    }

    const headIds: Record<string, number> = {};
    for (const strategy of ['penultimate', 'atl'] as const) {
      const plan = await planTraining(project, teachers, { modelId: teacher, strategy });
      const head = await measure(`train ${strategy} on ${labeled} labels`, () => trainHead(project, plan, { modelId: teacher, strategy }, jobHandle()));
      if (!head) throw new Error(`Training ${strategy} was cancelled`);
      headIds[strategy] = head.id;
    }
    // Cancel as the cross-validation's first split is done: how long the job takes to stop.
    const cancelling = jobHandle((done, total) => total === HEAD_CV.splits && done >= 1);
    const atlPlan = await planTraining(project, teachers, { modelId: teacher, strategy: 'atl' });
    await measure(`train atl on ${labeled} labels, cancelled after a split`, () => trainHead(project, atlPlan, { modelId: teacher, strategy: 'atl' }, cancelling), (head) => ({
      note: cancelNote(head, cancelling),
    }));
    const config = { modelId: teacher, strategies: ['penultimate', 'atl'], mode: 'splits', shots: [1], ways: 2, queries: 1, repeats: 1, testFraction: 0.2, seed: 1 } as const;
    const comparison = await planComparisonRun(project, teachers, { ...config, strategies: [...config.strategies], shots: [...config.shots] });
    await measure(`compare penultimate, atl on ${labeled} labels (1 split, 20 % held out)`, () => runComparison(project, comparison, jobHandle()));

    const prediction = await planPrediction(project, teachers, headIds.penultimate);
    await measure('predict every image (penultimate head)', () => predictProject(project, prediction, jobHandle()), (r, s) => ({ rate: round(r.predicted / s, 1), note: `${r.predicted} predicted` }));
    const pool = size - labeled;
    await measure('label next: 20 of the unlabeled pool', () => suggestNext(project, teachers, 20, jobHandle()), () => ({ note: `pool of ${pool}` }));
    // Cancel once half the pool's typicality is known (the ranking's first and longest pass).
    const cancellingSuggest = jobHandle((done, total) => total === pool && done >= pool / 2);
    await measure('label next, cancelled halfway through the ranking', () => suggestNext(project, teachers, 20, cancellingSuggest), (r) => ({
      note: cancelNote(r, cancellingSuggest),
    }));
    await measure('list by confidence', async () => project.images.list({ kind: 'all' }, 'confidence'), (r) => ({ note: `${r.length} rows` }));
    project.close();

    if (options.measureGrid) {
      const grid = await options.measureGrid(projectPath);
      for (const [name, value] of Object.entries(grid)) rows.push({ size, teacher, job: `grid: ${name}`, seconds: 0, value, cpuSeconds: 0, rssBeforeMb: 0, peakRssMb: 0, load: round(loadavg()[0], 1) });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Labels `count` images spread evenly over the import order with their folder's class (each row's
 * path is `<class>/<file>`), one class at a time, as a person labeling a selection would; returns
 * how many it labeled.
 */
function labelEvenly(project: Project, images: { id: number; path: string }[], count: number): number {
  const taken = Math.min(count, images.length);
  const byClass = new Map<string, number[]>();
  for (let i = 0; i < taken; i++) {
    const image = images[Math.floor((i * images.length) / taken)];
    const className = image.path.split('/')[0];
    byClass.set(className, [...(byClass.get(className) ?? []), image.id]);
  }
  let labeled = 0;
  for (const [className, ids] of byClass) labeled += project.labels.assign(ids, project.classes.create(className).id).changed.length;
  return labeled;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

if (process.argv[1] && basename(process.argv[1]) === 'scale.ts') {
  if ((await writeFashionMnist()) === null) process.exit(1);
  const full = scaleImages().length;
  const sizes = (flag('--sizes') ?? `10000,${full}`).split(',').map(Number);
  // ResNet-20 (32 px, ~1 ms an image) at the large size: MobileNet there takes 15+ minutes on 2 cores.
  const teacherFor = new Map(Object.entries({ 10000: 'mobilenet_v1_0.75_224', [full]: 'resnet20_cifar10' }).map(([k, v]) => [Number(k), v]));
  for (const pair of (flag('--teacher') ?? '').split(',').filter(Boolean)) {
    const [size, id] = pair.split('=');
    teacherFor.set(Number(size), id);
  }
  const gridModule = join(import.meta.dirname, 'grid-scroll.ts');
  const measureGrid = !process.argv.includes('--skip-grid') && existsSync(gridModule) ? await gridMeasure(gridModule) : undefined;
  if (!measureGrid) console.error('The grid is not measured (--skip-grid, or bench/grid-scroll.ts is not there).');
  const teachers = createTeacherService();
  const rows: ScaleRow[] = [];
  try {
    for (const size of sizes) {
      const teacher = teacherFor.get(size) ?? 'resnet20_cifar10';
      console.error(`${size} images, teacher ${teacher}`);
      rows.push(...(await runScale({ size, teacher, labels: 5000, skipExtraction: process.argv.includes('--skip-extraction'), measureGrid }, teachers)));
    }
  } finally {
    await teachers.dispose();
  }
  console.table(rows);
  const out = join(import.meta.dirname, '../bench-results');
  mkdirSync(out, { recursive: true });
  // Rows of other sizes from an earlier run are kept: sizes can be run one at a time.
  const path = join(out, 'scale.json');
  const earlier: ScaleRow[] = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { rows: ScaleRow[] }).rows.filter((r) => !sizes.includes(r.size)) : [];
  const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), rows: [...earlier, ...rows].sort((a, b) => a.size - b.size) };
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`Wrote ${path}`);
}

/** The grid's measurement (bench/grid-scroll.ts), as a flat record of figures. */
async function gridMeasure(module: string): Promise<ScaleOptions['measureGrid']> {
  const { measureGridScroll } = (await import(module)) as { measureGridScroll: (projectPath: string) => Promise<Record<string, number>> };
  return measureGridScroll;
}
