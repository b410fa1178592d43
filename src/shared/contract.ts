/**
 * The one contract between the studio's service layer (src/main) and every front:
 * the Electron preload (ipcMain.handle per method), the web mode (HTTP POST /api/call/<method>)
 * and the renderer's client. Inputs are validated with these zod schemas on the service side,
 * whatever front they came through.
 */
import { MAX_IMAGE_PAGE } from './image-pages';
import { z } from 'zod';
import { strategyParamProblems } from './strategies';
import { THUMBNAILS_PER_REQUEST } from './thumbnail-batch';

// ---------- shared shapes ----------

export const ProjectSummary = z.object({
  path: z.string(),
  name: z.string(),
  images: z.number().int(),
  classes: z.number().int(),
  labeled: z.number().int(),
});
export type ProjectSummary = z.infer<typeof ProjectSummary>;

export const RecentProject = z.object({
  path: z.string(),
  name: z.string(),
  openedAt: z.string(),
  exists: z.boolean(),
});
export type RecentProject = z.infer<typeof RecentProject>;

export const Theme = z.enum(['dark', 'light']);
export type Theme = z.infer<typeof Theme>;

/** Which engine opens teachers: `auto` (the fastest that runs, a software GPU never) or one tried first. */
export const EnginePreference = z.enum(['auto', 'webgpu', 'onnxruntime', 'tfjs-wasm']);
export type EnginePreference = z.infer<typeof EnginePreference>;

export const StudioInfo = z.object({
  version: z.string(),
  front: z.enum(['electron', 'web']),
  home: z.string(),
  projectsDir: z.string(),
  theme: Theme,
  /** The engine setting of the Models view. */
  engine: EnginePreference.default('auto'),
  project: ProjectSummary.nullable(),
  recent: z.array(RecentProject),
});
export type StudioInfo = z.infer<typeof StudioInfo>;

export const ClassInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  color: z.string(),
  hotkey: z.number().int().min(1).max(9).nullable(),
  order: z.number().int(),
  /** Images labeled with this class, whatever the source. */
  count: z.number().int(),
  /** Labeled by a person: the examples a few-shot classifier learns from. */
  shots: z.number().int(),
});
export type ClassInfo = z.infer<typeof ClassInfo>;

/** Who labeled an image: a person, or a person who accepted the model's prediction. */
export const LabelSource = z.enum(['human', 'prediction']);
export type LabelSource = z.infer<typeof LabelSource>;

/** One grid row: compact so that 10,000 of them travel in one response. */
export const ImageRow = z.object({
  id: z.number().int(),
  name: z.string(),
  /**
   * Where the file was imported from, from the deepest folder holding every image of the
   * project: `cat/0011.jpg` and `dog/0011.jpg`, not two `0011.jpg`.
   */
  path: z.string(),
  classId: z.number().int().nullable(),
  width: z.number().int(),
  height: z.number().int(),
  source: LabelSource.nullable(),
  /** The active head's prediction (see `predictions.status`), when it has run on this image. */
  predictedClassId: z.number().int().nullable(),
  /** Its probability, 0–1. */
  confidence: z.number().nullable(),
});
export type ImageRow = z.infer<typeof ImageRow>;

export const ImageDetail = ImageRow.extend({
  sha256: z.string(),
  originalPath: z.string(),
  format: z.string(),
  bytes: z.number().int(),
  importedAt: z.string(),
  labelSource: LabelSource.nullable(),
});
export type ImageDetail = z.infer<typeof ImageDetail>;

export const ImageFilter = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('unlabeled') }),
  z.object({ kind: z.literal('class'), classId: z.number().int() }),
  /** Images the active head predicts as this class and no person has labeled. */
  z.object({ kind: z.literal('predicted'), classId: z.number().int() }),
]);
export type ImageFilter = z.infer<typeof ImageFilter>;

/** `confidence`: the active head's least confident predictions first (what to check first). */
export const ImageSort = z.enum(['import', 'name', 'confidence']);
export type ImageSort = z.infer<typeof ImageSort>;

export const ImportFailure = z.object({ path: z.string(), reason: z.string() });
export type ImportFailure = z.infer<typeof ImportFailure>;

export const ImportStatus = z.enum(['running', 'completed', 'cancelled', 'interrupted', 'failed']);

export const ImportReport = z.object({
  id: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  roots: z.array(z.string()),
  labelsFromFolders: z.boolean(),
  status: ImportStatus,
  found: z.number().int(),
  imported: z.number().int(),
  duplicates: z.number().int(),
  failed: z.array(ImportFailure),
  skipped: z.number().int(),
});
export type ImportReport = z.infer<typeof ImportReport>;

/** Progress of a long job: an import, a feature extraction, a strategy comparison or training a head. */
export const JobProgress = z.object({
  jobId: z.string(),
  kind: z.enum(['import', 'extract', 'compare', 'train', 'predict', 'export-data', 'pack', 'unpack', 'suggest']),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  done: z.number().int(),
  total: z.number().int(),
  ratePerSecond: z.number(),
  etaSeconds: z.number().nullable(),
  message: z.string(),
  detail: z.record(z.string(), z.number()),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const LabelChangeResult = z.object({
  changed: z.array(z.object({ imageId: z.number().int(), classId: z.number().int().nullable() })),
  canUndo: z.boolean(),
  canRedo: z.boolean(),
});
export type LabelChangeResult = z.infer<typeof LabelChangeResult>;

export const EngineInfo = z.object({
  engine: z.string(),
  backend: z.string(),
  /** For people: e.g. 'CPU, 2 threads' or 'NVIDIA GPU (CUDA)'. */
  device: z.string(),
  /** Why a faster engine was not used, when one was tried. */
  fallbackReason: z.string().nullable(),
});
export type EngineInfo = z.infer<typeof EngineInfo>;

export const TeacherInfo = z.object({
  id: z.string(),
  name: z.string(),
  format: z.enum(['tfjs-layers', 'tfjs-graph', 'onnx']),
  description: z.string(),
  license: z.string(),
  source: z.enum(['manifest', 'imported']),
  /** Its files are present and readable (false when broken). */
  installed: z.boolean(),
  isDefault: z.boolean(),
  /** Why its files are present but cannot load (a malformed atl-teacher.json or model.json, naming the file), or null. */
  problem: z.string().nullable(),
});
export type TeacherInfo = z.infer<typeof TeacherInfo>;

export const TeacherLayerInfo = z.object({
  name: z.string(),
  channels: z.number().int(),
  height: z.number().int(),
  width: z.number().int(),
  depth: z.number().int(),
  penultimate: z.boolean(),
  enabled: z.boolean(),
});
export type TeacherLayerInfo = z.infer<typeof TeacherLayerInfo>;

export const TeacherDetail = z.object({
  teacher: TeacherInfo,
  engine: EngineInfo,
  layers: z.array(TeacherLayerInfo),
  /** e.g. '224×224 RGB, stretch, x/127.5 − 1, NHWC'. */
  preprocess: z.string(),
  weightsSha256: z.string(),
});
export type TeacherDetail = z.infer<typeof TeacherDetail>;

/**
 * The preprocessing given to an ONNX teacher imported without a sidecar, each with its resize
 * policy: imagenet = RGB/255 then ImageNet mean/std, centre crop; inception = RGB scaled to
 * [-1, 1], stretched; unit = RGB/255, stretched.
 */
export const TeacherPreprocessing = z.enum(['imagenet', 'inception', 'unit']);
export type TeacherPreprocessing = z.infer<typeof TeacherPreprocessing>;

/** A teacher the open project's cached features or trained heads came from, which is not installed. */
export const MissingTeacher = z.object({
  id: z.string(),
  /** Its weights' sha256 as the project recorded it (a head keeps it whole, the feature cache its first 16 digits). */
  weightsSha256: z.string(),
  features: z.boolean(),
  heads: z.number().int(),
  /** For people: which teacher, what of the project needs it, and how to install it. */
  message: z.string(),
});
export type MissingTeacher = z.infer<typeof MissingTeacher>;

export const Pooling = z.enum(['gap', 'gmp', 'spatial']);
export type Pooling = z.infer<typeof Pooling>;

export const FeatureStatus = z.object({
  modelId: z.string(),
  pooling: Pooling,
  layers: z.array(z.string()),
  images: z.number().int(),
  cached: z.number().int(),
  failed: z.array(z.object({ path: z.string(), reason: z.string() })),
});
export type FeatureStatus = z.infer<typeof FeatureStatus>;

export const STRATEGY_NAMES = ['penultimate', 'best-single', 'atl', 'all-layers', 'head2toe', 'ncm', 'ncm-atl', 'atl-teachers'] as const;
export const StrategyName = z.enum(STRATEGY_NAMES);
export type StrategyName = z.infer<typeof StrategyName>;

/**
 * A configured strategy: its name and parameters (see `STRATEGY_PARAMS` in strategies.ts; those
 * left out take their defaults). Unknown parameters and values out of range are refused, naming the key.
 */
export const StrategySpec = z
  .object({ name: StrategyName, params: z.record(z.string(), z.number()).optional() })
  .strict()
  .superRefine(({ name, params }, ctx) => {
    for (const message of strategyParamProblems(name, params ?? {})) ctx.addIssue({ code: 'custom', path: ['params'], message });
  });
export type StrategySpec = z.infer<typeof StrategySpec>;
/** Where a strategy is asked for: a name (its default parameters) or a spec. */
export const StrategyChoice = z.union([StrategyName, StrategySpec]);
export type StrategyChoice = z.infer<typeof StrategyChoice>;
/** A strategy as it ran or was trained: every parameter, defaults filled in. */
export const ResolvedStrategy = z.object({ name: StrategyName, params: z.record(z.string(), z.number()) });

/**
 * What a comparison runs. `episodes`: N-way K-shot episodes over the human-labeled images, for each
 * shot count (ways and queries shrink to what the labels allow, and the result says what was
 * used). `splits`: repeated stratified splits of all labels (a `testFraction` of each class held
 * out), "how good is my classifier now"; its results have shots = 0, meaning all labels.
 */
export const ComparisonConfig = z
  .object({
    /** The teacher; with `modelIds`, the first of them (the baseline). */
    modelId: z.string().min(1),
    /**
     * Several teachers side by side, the baseline (`modelId`) first: every teacher × strategy sees
     * the same episodes, and every Δ is against the first teacher's `penultimate`. Absent: `modelId` alone.
     */
    modelIds: z.array(z.string().min(1)).min(1).max(8).optional(),
    strategies: z.array(StrategyChoice).min(1),
    mode: z.enum(['episodes', 'splits']),
    /** Episodes mode only (splits use every label). */
    shots: z.array(z.number().int().min(1).max(100)).min(1).max(8),
    ways: z.number().int().min(2).max(100),
    queries: z.number().int().min(1).max(100),
    /** Episodes per shot count, or splits. */
    repeats: z.number().int().min(1).max(5000),
    testFraction: z.number().min(0.05).max(0.8),
    seed: z.number().int().min(0).max(2 ** 31),
  })
  .strict();
export type ComparisonConfig = z.infer<typeof ComparisonConfig>;

export const RunStatus = z.enum(['running', 'completed', 'cancelled', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

export const ComparisonSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  status: RunStatus,
  config: ComparisonConfig,
  teacherName: z.string(),
  /** Every teacher compared, the baseline first (a run of one teacher: that one). */
  teachers: z.array(z.object({ id: z.string(), name: z.string() })).min(1),
  /** Why it failed, or what was left out (e.g. a shot count the labels cannot support). */
  message: z.string().nullable(),
  /** The strategies asked for, with every parameter (runs made before parameters were stored: their defaults). */
  strategies: z.array(ResolvedStrategy),
  /** The studio that ran it; null for runs made before it was stored. */
  studioVersion: z.string().nullable(),
});
export type ComparisonSummary = z.infer<typeof ComparisonSummary>;

/**
 * One strategy at one shot count (0: all labels, `splits` mode). Accuracies are fractions 0–1.
 * Episodes: `ways` classes, `queries` test images per class, `repeats` episodes. Splits: `ways` is
 * the number of classes taking part, `queries` the smallest class's held-out count, `repeats` the splits.
 */
/** In a run of several teachers: the teacher id of a result, or `*` for `atl-teachers` on all of them. Absent with one teacher. */
const ResultTeacher = z.string().optional();

export const ComparisonCell = z.object({
  teacher: ResultTeacher,
  /** The strategy's label: its name, with the parameters that differ from their defaults (`strategyLabel`). */
  strategy: z.string(),
  shots: z.number().int(),
  ways: z.number().int(),
  queries: z.number().int(),
  repeats: z.number().int(),
  mean: z.number(),
  ci95: z.number(),
  deltaVsPenultimate: z.number(),
  deltaCi95: z.number(),
  /** Best mean of its column, and the paired difference to the runner-up has a CI that excludes 0. */
  winner: z.boolean(),
  /** Mean fit + predict seconds per episode. */
  fitSeconds: z.number(),
  /** Candidate `layer:pooling` → fraction of episodes it was used in (head2toe: share of kept features). */
  layersChosen: z.record(z.string(), z.number()),
});
export type ComparisonCell = z.infer<typeof ComparisonCell>;

export const ComparisonDetail = ComparisonSummary.extend({
  classes: z.array(z.object({ id: z.number().int(), name: z.string(), color: z.string() })),
  cells: z.array(ComparisonCell),
  /** Query counts, summed over episodes: matrix[t][p] for classes[t] predicted as classes[p]. */
  confusion: z.array(z.object({ teacher: ResultTeacher, strategy: z.string(), shots: z.number().int(), matrix: z.array(z.array(z.number().int())) })),
  /** The images most often misclassified, per strategy and shots (up to 24 each). */
  mistakes: z.array(
    z.object({
      teacher: ResultTeacher,
      strategy: z.string(),
      shots: z.number().int(),
      imageId: z.number().int(),
      trueClassId: z.number().int(),
      predictedClassId: z.number().int(),
      /** Episodes in which it was a query and predicted so. */
      count: z.number().int(),
    }),
  ),
  /** Each candidate alone (nearest class mean) over the same episodes. */
  profile: z.array(
    z.object({
      teacher: ResultTeacher,
      /** `layer:pooling`; in a run of several teachers `teacher/layer:pooling`. */
      candidate: z.string(),
      layer: z.string(),
      pooling: Pooling,
      depth: z.number().int(),
      shots: z.number().int(),
      mean: z.number(),
      ci95: z.number(),
    }),
  ),
  timings: z.object({ featuresSeconds: z.number(), strategiesSeconds: z.number(), totalSeconds: z.number() }),
});
export type ComparisonDetail = z.infer<typeof ComparisonDetail>;

export const PredictionStatus = z.object({
  /** The head whose predictions the grid shows, if any. */
  head: z.lazy(() => HeadSummary).nullable(),
  predicted: z.number().int(),
  images: z.number().int(),
});
export type PredictionStatus = z.infer<typeof PredictionStatus>;

export const Suggestion = z.object({
  imageId: z.number().int(),
  path: z.string(),
  /** 0–1: how much labeling it would teach (uncertainty and diversity mixed). */
  score: z.number(),
  /** For people: e.g. 'uncertain between cat and dog; far from labeled images'. */
  reason: z.string(),
});
export type Suggestion = z.infer<typeof Suggestion>;

export const ExportFormat = z.enum(['onnx', 'tfjs']);
export type ExportFormat = z.infer<typeof ExportFormat>;

/** The labeled data set out (`export-data`): class folders of the original files with manifest.csv, or one labels.csv / labels.json. */
export const DataExportFormat = z.enum(['folders', 'csv', 'json']);
export type DataExportFormat = z.infer<typeof DataExportFormat>;
/** `human`: the labels a person gave (by hand or imported from folders); `all`: also the predictions a person accepted. */
export const DataExportSource = z.enum(['human', 'all']);
export type DataExportSource = z.infer<typeof DataExportSource>;

export const ExportResult = z.object({
  dir: z.string(),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int() })),
});
export type ExportResult = z.infer<typeof ExportResult>;

/** A classifier trained on all human labels of the project, ready to predict. */
export const HeadSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  createdAt: z.string(),
  strategy: StrategyName,
  /** Every parameter it was trained with (heads trained before parameters were stored: the defaults). */
  params: z.record(z.string(), z.number()),
  /** The studio that trained it; null for heads trained before it was stored. */
  studioVersion: z.string().nullable(),
  modelId: z.string(),
  teacherName: z.string(),
  teacherSha256: z.string(),
  /** Every teacher it reads, `modelId` first (one for a head on a single teacher). */
  teachers: z.array(z.object({ id: z.string(), name: z.string() })),
  /** Candidates (`layer:pooling`; `teacher/layer:pooling` on several teachers) the head reads. */
  candidates: z.array(z.string()),
  classes: z.array(z.object({ id: z.number().int(), name: z.string(), labels: z.number().int() })),
  /** Cross-validated on the labels (repeated stratified splits; see `cvSplits`). */
  cvAccuracy: z.number().nullable(),
  cvCi95: z.number().nullable(),
  cvSplits: z.number().int(),
  /**
   * counts[t][p]: held-out images of classes[t] predicted as classes[p], summed over the splits
   * (per-class precision and recall follow from it); null when not cross-validated.
   */
  cvConfusion: z.array(z.array(z.number().int())).nullable(),
  /**
   * What changed in the human labels since it was trained (labels added, removed or moved; a class
   * renamed, merged or deleted), e.g. 'cat: 8 → 10 labels': retrain it. Null when they are the same.
   */
  staleReason: z.string().nullable(),
});
export type HeadSummary = z.infer<typeof HeadSummary>;

const Path = z.string().min(1).max(4096);
const Id = z.number().int().positive();
const ClassName = z.string().trim().min(1, 'A class needs a name').max(200);
const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'Colors are #rrggbb');
const Empty = z.object({}).strict();

export const TeacherImport = z
  .object({
    /** A TF.js layers- or graph-model folder, an .onnx with its model.json sidecar, or any .onnx image backbone. */
    path: Path,
    /** Default: the file's or folder's name. */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'A teacher id is letters, digits, . _ -').max(200).optional(),
    name: z.string().trim().min(1).max(200).optional(),
    /** Only for an .onnx without sidecar (a sidecar gives them). */
    preprocess: TeacherPreprocessing.optional(),
    size: z.number().int().min(8).max(4096).optional(),
  })
  .strict();
export type TeacherImport = z.infer<typeof TeacherImport>;

// ---------- methods ----------

export const contract = {
  'studio.info': { input: Empty, output: StudioInfo },
  'studio.setTheme': { input: z.object({ theme: Theme }).strict(), output: z.null() },
  /** Stores the engine setting; open teachers close, and reopen on that engine when next used. */
  'studio.setEngine': { input: z.object({ engine: EnginePreference }).strict(), output: z.null() },

  'project.create': {
    input: z.object({ name: z.string().trim().min(1).max(200), path: Path.optional() }).strict(),
    output: ProjectSummary,
  },
  'project.open': { input: z.object({ path: Path }).strict(), output: ProjectSummary },
  'project.openDemo': { input: Empty, output: ProjectSummary },
  'project.close': { input: Empty, output: z.null() },
  'project.rename': { input: z.object({ name: z.string().trim().min(1).max(200) }).strict(), output: ProjectSummary },
  /** Deletes the project file from disk; the UI asks first and sends confirm: true. */
  'project.delete': { input: z.object({ path: Path, confirm: z.literal(true) }).strict(), output: z.null() },
  'project.forgetRecent': { input: z.object({ path: Path }).strict(), output: z.null() },

  'images.list': {
    input: z.object({ filter: ImageFilter, sort: ImageSort }).strict(),
    output: z.array(ImageRow),
  },
  /** A page of the same list, and the whole list's length: the grid reads a large project page by page. */
  'images.page': {
    input: z.object({ filter: ImageFilter, sort: ImageSort, offset: z.number().int().min(0), limit: z.number().int().min(1).max(MAX_IMAGE_PAGE) }).strict(),
    output: z.object({ total: z.number().int(), rows: z.array(ImageRow) }),
  },
  'images.get': { input: z.object({ id: Id }).strict(), output: ImageDetail },

  'import.start': {
    input: z
      .object({ paths: z.array(Path).min(1).max(10_000), labelsFromFolders: z.boolean() })
      .strict(),
    output: z.object({ jobId: z.string() }),
  },
  'import.cancel': { input: z.object({ jobId: z.string() }).strict(), output: z.null() },
  'import.reports': { input: Empty, output: z.array(ImportReport) },

  'models.list': { input: Empty, output: z.array(TeacherInfo) },
  /** Loads the teacher (verifying its files) and describes its engine and layer inventory. */
  'models.inspect': { input: z.object({ id: z.string() }).strict(), output: TeacherDetail },
  'models.setLayers': {
    input: z.object({ id: z.string(), layers: z.array(z.string()).min(1) }).strict(),
    output: TeacherDetail,
  },
  /** A TF.js folder, an .onnx with its model.json sidecar, or any .onnx image backbone (its layers found from the graph). */
  'models.import': { input: TeacherImport, output: TeacherInfo },
  /** The teachers the open project's features and heads came from that are not installed (nothing is deleted). */
  'models.missing': { input: Empty, output: z.array(MissingTeacher) },
  /** Removes a teacher the studio installed in its home (its own files only). */
  'models.remove': { input: z.object({ id: z.string() }).strict(), output: z.object({ filesLeft: z.array(z.string()) }) },

  'features.status': { input: z.object({ modelId: z.string(), pooling: Pooling }).strict(), output: FeatureStatus },
  /** Extracts (or completes) the cached features of every project image; a job with progress. */
  'features.extract': {
    input: z
      .object({ modelId: z.string(), layers: z.union([z.literal('all'), z.array(z.string()).min(1)]), pooling: Pooling })
      .strict(),
    output: z.object({ jobId: z.string() }),
  },
  /** Cancels any running job (import or extraction). */
  'jobs.cancel': { input: z.object({ jobId: z.string() }).strict(), output: z.null() },

  /** Compares strategies on the project's human labels; a job with progress. The run is stored as it starts. */
  'compare.start': {
    input: z.object({ config: ComparisonConfig, name: z.string().trim().min(1).max(200).optional() }).strict(),
    output: z.object({ jobId: z.string(), runId: z.number().int() }),
  },
  'compare.list': { input: Empty, output: z.array(ComparisonSummary) },
  'compare.get': { input: z.object({ id: Id }).strict(), output: ComparisonDetail },
  'compare.delete': { input: z.object({ id: Id, confirm: z.literal(true) }).strict(), output: z.null() },

  /** Trains a head with one strategy on every human label (features extracted as needed); a job. */
  'heads.train': {
    input: z
      .object({
        modelId: z.string().min(1),
        /** A head on several teachers' candidates together (e.g. with atl-teachers): every teacher, `modelId` first. Absent: `modelId` alone. */
        modelIds: z.array(z.string().min(1)).min(1).max(8).optional(),
        strategy: StrategyChoice,
        name: z.string().trim().min(1).max(200).optional(),
      })
      .strict(),
    output: z.object({ jobId: z.string() }),
  },
  'heads.list': { input: Empty, output: z.array(HeadSummary) },
  /** Runs a head over every image of the project (features extracted as needed); a job. Makes it the active head. */
  'predictions.run': { input: z.object({ headId: Id }).strict(), output: z.object({ jobId: z.string() }) },
  'predictions.status': { input: Empty, output: PredictionStatus },
  /** Labels these images with the active head's prediction (source: prediction); images a person labeled are left as they are. One undo step. */
  'labels.acceptPredictions': { input: z.object({ imageIds: z.array(Id).min(1).max(100_000) }).strict(), output: LabelChangeResult },
  /**
   * Unlabeled images in the order that labeling them would teach the most. Runs as a job of kind
   * `suggest` (progress events, `jobs.cancel`); a newer request cancels an older one.
   */
  'suggest.next': {
    input: z.object({ count: z.number().int().min(1).max(1000) }).strict(),
    output: z.object({ suggestions: z.array(Suggestion), cancelled: z.boolean() }),
  },
  /**
   * Writes an exported classifier (model, labels.json, preprocessing, model card, predict.mjs) into a new or empty
   * folder, or over an untouched earlier export; `includeRuntime` adds the packages predict.mjs needs (no npm install).
   */
  'export.head': {
    input: z.object({ headId: Id, format: ExportFormat, dir: Path, includeRuntime: z.boolean().default(false) }).strict(),
    output: ExportResult,
  },
  /** The labeled data set into a folder (new, empty, or an earlier export): a job, whose last progress message says what it wrote. */
  'export.data': {
    input: z.object({ dir: Path, format: DataExportFormat, source: DataExportSource.default('human') }).strict(),
    output: z.object({ jobId: z.string() }),
  },
  /** One file holding the project, the teachers its features and heads use, and (`withImages`) its original images: a job. */
  'project.pack': { input: z.object({ path: Path, withImages: z.boolean().default(false) }).strict(), output: z.object({ jobId: z.string() }) },
  /** A portable copy restored as a new project file `out` (its teachers installed, its images beside it): a job. Nothing is written over an existing file. */
  'project.unpack': { input: z.object({ file: Path, out: Path }).strict(), output: z.object({ jobId: z.string() }) },
  /** Predictions of the active head for every image, as CSV or JSON, written to a file. */
  'export.predictions': { input: z.object({ format: z.enum(['csv', 'json']), path: Path }).strict(), output: ExportResult },
  'heads.delete': { input: z.object({ id: Id, confirm: z.literal(true) }).strict(), output: z.null() },

  'classes.list': { input: Empty, output: z.array(ClassInfo) },
  'classes.create': {
    input: z.object({ name: ClassName, color: Color.optional() }).strict(),
    output: ClassInfo,
  },
  'classes.update': {
    input: z
      .object({
        id: Id,
        name: ClassName.optional(),
        color: Color.optional(),
        hotkey: z.number().int().min(1).max(9).nullable().optional(),
      })
      .strict(),
    output: ClassInfo,
  },
  'classes.reorder': { input: z.object({ ids: z.array(Id) }).strict(), output: z.array(ClassInfo) },
  /** Moves every label of `sourceId` to `targetId`, then deletes the source class. */
  'classes.merge': {
    input: z.object({ sourceId: Id, targetId: Id, confirm: z.literal(true) }).strict(),
    output: z.array(ClassInfo),
  },
  /** Deletes a class; its labels are cleared. */
  'classes.delete': { input: z.object({ id: Id, confirm: z.literal(true) }).strict(), output: z.array(ClassInfo) },

  /** classId null clears the labels. One call is one undo step. */
  'labels.assign': {
    input: z.object({ imageIds: z.array(Id).min(1).max(100_000), classId: Id.nullable() }).strict(),
    output: LabelChangeResult,
  },
  'labels.undo': { input: Empty, output: LabelChangeResult },
  'labels.redo': { input: Empty, output: LabelChangeResult },
  'labels.history': {
    input: Empty,
    output: z.object({ canUndo: z.boolean(), canRedo: z.boolean() }),
  },
} as const;

export type Contract = typeof contract;
export type Method = keyof Contract;
export type Input<M extends Method> = z.input<Contract[M]['input']>;
export type Output<M extends Method> = z.infer<Contract[M]['output']>;

export const methods = Object.keys(contract) as Method[];

export function isMethod(name: string): name is Method {
  return Object.prototype.hasOwnProperty.call(contract, name);
}

/** Events pushed from the services to every connected front. */
export const StudioEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job.progress'), job: JobProgress }),
  z.object({ type: z.literal('project.changed'), what: z.enum(['project', 'images', 'classes', 'labels', 'comparisons', 'heads', 'predictions']) }),
]);
export type StudioEvent = z.infer<typeof StudioEvent>;

/** Errors carry a stable code so that fronts can react (e.g. ask to confirm) and a message for people. */
export const ErrorCode = z.enum([
  'invalid_input',
  'no_project',
  'not_found',
  'conflict',
  'bad_file',
  /** A project file whose pages no longer hold together: `atl-studio recover` saves what is readable. */
  'damaged',
  'io',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const CallResponse = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: ErrorCode, message: z.string() }) }),
]);
export type CallResponse = z.infer<typeof CallResponse>;

/**
 * Where a front finds image bytes: web mode serves /media/..., Electron the atl-media:// protocol.
 * `thumbs`: many thumbnails in one answer (src/shared/thumbnail-batch.ts), their ids joined by commas.
 */
export const MediaKind = z.enum(['thumb', 'image', 'thumbs']);
export type MediaKind = z.infer<typeof MediaKind>;

const IdText = z.string().regex(/^\d{1,15}$/).transform(Number).pipe(Id);
const IdListText = z
  .string()
  .regex(new RegExp(`^\\d{1,15}(,\\d{1,15}){0,${THUMBNAILS_PER_REQUEST - 1}}$`), `at most ${THUMBNAILS_PER_REQUEST} ids, joined by commas`)
  .transform((text) => text.split(',').map(Number))
  .pipe(z.array(Id));

/**
 * A request for image bytes, as both fronts read it from their URL (`/media/thumb/12`,
 * `atl-media://thumbs/12,13`): ids may come as text, but only as whole numbers.
 */
export const MediaRequest = z.union([
  z.object({ kind: z.enum(['thumb', 'image']), id: z.union([Id, IdText]) }).strict(),
  z.object({ kind: z.literal('thumbs'), id: IdListText }).strict(),
]);

export type MediaResponse =
  | { ok: true; bytes: Uint8Array; contentType: string }
  | { ok: false; error: { code: ErrorCode; message: string } };

/** The HTTP status both fronts answer a failed media request with. */
export function mediaStatus(code: ErrorCode): number {
  if (code === 'invalid_input') return 400;
  if (code === 'not_found') return 404;
  if (code === 'no_project') return 409;
  return 500;
}
