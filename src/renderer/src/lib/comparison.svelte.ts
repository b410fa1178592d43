/**
 * The Compare view's state: the comparison form, stored runs (one open, and optionally a second
 * beside it), the running comparison, and the project's trained heads. Only this module calls
 * the `compare.*` and `heads.*` methods; it follows its jobs with job clients (jobs.svelte.ts) and
 * hears changes through `workspace.listen`.
 */
import type {
  ComparisonConfig,
  ComparisonDetail,
  ComparisonSummary,
  HeadSummary,
  JobProgress,
  StrategyChoice,
  StrategyName,
  StrategySpec,
  TeacherInfo,
} from '../../../shared/contract';
import { STRATEGY_INFO, strategyLabel, strategyNameOf, strategyParamProblems } from '../../../shared/strategies';
import { comparisonVerdict } from '../../../shared/verdict';
import { call } from './api';
import { JobClient } from './jobs.svelte';
import { grid } from './grid.svelte';
import { workspace, type ChangeKind, type StudioListener } from './workspace.svelte';
import { dialogs } from './dialogs.svelte';

/** Every strategy, in the order tables and charts list them. */
export const STRATEGIES = Object.keys(STRATEGY_INFO) as StrategyName[];

/**
 * Episodes per shot count, or splits, when the form opens or switches mode: each strategy fits once
 * per episode or split, and a split holds every label, so fewer splits keep the run to a few
 * minutes on a small machine. Every strategy, MobileNet, 2 shared CPU cores: 30 splits took 97 s
 * (100: 325 s) on CIFAR-10 with 5 labels per class, features included, and 14 s on the demo.
 */
export const DEFAULT_REPEATS: Record<ComparisonConfig['mode'], number> = { episodes: 100, splits: 30 };

/** The form as typed: shot counts stay text ("1, 5") until the run starts. */
export interface ConfigForm {
  /** The teacher, the baseline of every Δ. */
  modelId: string;
  /** Other teachers compared beside it on the same episodes (none: `modelId` alone). */
  otherModelIds: string[];
  strategies: StrategyName[];
  /** Strategies with parameters of their own (`atl(maxSize=2)`), run beside those checked. */
  configured: StrategySpec[];
  mode: ComparisonConfig['mode'];
  shots: string;
  ways: number;
  queries: number;
  repeats: number;
  testFraction: number;
  seed: number;
  name: string;
}

const defaultForm = (): ConfigForm => ({
  modelId: '',
  otherModelIds: [],
  strategies: [...STRATEGIES],
  configured: [],
  mode: 'episodes',
  shots: '1, 5',
  ways: 5,
  queries: 15,
  repeats: DEFAULT_REPEATS.episodes,
  testFraction: 0.25,
  seed: 1,
  name: '',
});

/** "1, 5 10" → [1, 5, 10], or what is wrong with it. */
export function parseShots(text: string): number[] | string {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (parts.length === 0) return 'Give at least one shot count, e.g. “1, 5”.';
  const shots = parts.map(Number);
  const bad = parts.find((_, i) => !Number.isInteger(shots[i]) || shots[i] < 1 || shots[i] > 100);
  if (bad !== undefined) return `“${bad}” is not a shot count: whole numbers from 1 to 100.`;
  const unique = [...new Set(shots)].sort((a, b) => a - b);
  return unique.length > 8 ? 'At most 8 shot counts per run.' : unique;
}

/** The form as the contract wants it, or what to fix first. */
export function buildConfig(form: ConfigForm): ComparisonConfig | string {
  if (!form.modelId) return 'Choose an installed teacher.';
  if (form.strategies.length + form.configured.length === 0) return 'Choose at least one strategy.';
  const shots = parseShots(form.shots);
  // Splits use every label (results say shots 0); the contract still wants a valid list.
  if (typeof shots === 'string' && form.mode === 'episodes') return shots;
  const whole = (value: number, label: string, min: number, max: number) =>
    Number.isInteger(value) && value >= min && value <= max ? null : `${label}: a whole number from ${min} to ${max}.`;
  const problem =
    (form.mode === 'episodes' && (whole(form.ways, 'Ways', 2, 100) ?? whole(form.queries, 'Queries', 1, 100))) ||
    whole(form.repeats, form.mode === 'episodes' ? 'Episodes' : 'Splits', 1, 5000) ||
    whole(form.seed, 'Seed', 0, 2 ** 31);
  if (problem) return problem;
  if (form.mode === 'splits' && !(form.testFraction >= 0.05 && form.testFraction <= 0.8))
    return 'Test fraction: from 0.05 to 0.8.';
  const others = form.otherModelIds.filter((id) => id !== form.modelId);
  return {
    modelId: form.modelId,
    ...(others.length > 0 ? { modelIds: [form.modelId, ...others] } : {}),
    strategies: [...STRATEGIES.filter((s) => form.strategies.includes(s)), ...form.configured],
    mode: form.mode,
    shots: typeof shots === 'string' ? [1] : shots,
    ways: form.ways,
    queries: form.queries,
    repeats: form.repeats,
    testFraction: form.testFraction,
    seed: form.seed,
  };
}

/** The strategy a run's label names: one it was asked for, or a name (the `penultimate` every run adds has its defaults). */
export function strategyOfLabel(run: ComparisonSummary, label: string): StrategyChoice {
  return run.strategies.find((s) => strategyLabel(s) === label) ?? strategyNameOf(label);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

class Comparison implements StudioListener {
  open = $state(false);
  teachers = $state.raw<TeacherInfo[]>([]);
  form = $state<ConfigForm>(defaultForm());

  // ----- runs -----
  runs = $state.raw<ComparisonSummary[]>([]);
  /** The run shown, and the one shown beside it (side by side), if any. */
  primary = $state.raw<ComparisonDetail | null>(null);
  secondary = $state.raw<ComparisonDetail | null>(null);
  private comparing = new JobClient('compare.start', { onSettled: (job) => this.finishRun(job) });
  job = $derived<JobProgress | null>(this.comparing.job);
  starting = $state(false);
  /** Why the last run could not start (or failed), for the form to show. */
  startError = $state<string | null>(null);

  // ----- trained heads -----
  heads = $state.raw<HeadSummary[]>([]);
  trainStrategy = $state<StrategyChoice>('atl');
  /** What the heads panel offers to train, by label: every strategy, the form's configured ones, and the one picked (e.g. by a verdict). */
  trainChoices = $derived(new Map([...STRATEGIES, ...this.form.configured, this.trainStrategy].map((choice) => [strategyLabel(choice), choice])));
  private trainer = new JobClient('heads.train', { onSettled: (job) => this.finishTraining(job) });
  trainJob = $derived<JobProgress | null>(this.trainer.job);
  training = $state(false);
  trainError = $state<string | null>(null);
  /**
   * Where the last training was asked for, so that its progress and errors show there: the heads
   * panel's Train, a run's verdict (`run-<id>`) or a stale head's Retrain (`head-<id>`).
   */
  trainFrom = $state<string>('panel');

  private detailRequest = 0;

  constructor() {
    workspace.listen(this);
  }

  /** Opens the view: teachers for the form, the stored runs and the trained heads. */
  async show(): Promise<void> {
    this.open = true;
    await dialogs.attempt(() => Promise.all([this.loadTeachers(), this.loadRuns(), this.loadHeads()]));
  }

  close(): void {
    this.open = false;
  }

  private async loadTeachers(): Promise<void> {
    const teachers = await call('models.list', {});
    this.teachers = teachers;
    const installed = teachers.filter((t) => t.installed);
    if (!installed.some((t) => t.id === this.form.modelId))
      this.form.modelId = (installed.find((t) => t.isDefault) ?? installed[0])?.id ?? '';
    this.form.otherModelIds = this.form.otherModelIds.filter((id) => installed.some((t) => t.id === id));
  }

  private async loadRuns(): Promise<void> {
    const runs = await call('compare.list', {});
    this.runs = [...runs].sort((a, b) => b.id - a.id);
  }

  private async loadHeads(): Promise<void> {
    const heads = await call('heads.list', {});
    this.heads = [...heads].sort((a, b) => b.id - a.id);
  }

  // ================= runs =================

  async start(): Promise<void> {
    const config = buildConfig(this.form);
    if (typeof config === 'string') {
      this.startError = config;
      return;
    }
    this.startError = null;
    this.starting = true;
    try {
      const name = this.form.name.trim() || undefined;
      // A run over cached features may end (and open) before its id comes back.
      await this.comparing.start({ config, name });
      await this.loadRuns();
    } catch (error) {
      this.startError = messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  async cancel(): Promise<void> {
    await dialogs.attempt(() => this.comparing.cancel());
  }

  private async finishRun(job: JobProgress): Promise<void> {
    const started = this.comparing.started;
    if (!started) return;
    // A failure stays in the progress panel, with the services' message; a cancelled run shows what it finished.
    await dialogs.attempt(() => this.loadRuns());
    if (job.state === 'done' || job.state === 'cancelled') await this.openRun(started.runId);
  }

  private async getRun(id: number): Promise<ComparisonDetail | undefined> {
    return dialogs.attempt(() => call('compare.get', { id }));
  }

  async openRun(id: number): Promise<void> {
    const request = ++this.detailRequest;
    const detail = await this.getRun(id);
    if (!detail || request !== this.detailRequest) return;
    this.primary = detail;
    // The heads panel offers to train what the run shown recommends.
    const recommended = comparisonVerdict(detail.cells, detail.teachers);
    if (recommended) this.trainStrategy = strategyOfLabel(detail, recommended.strategy);
    if (this.secondary?.id === id) this.secondary = null;
  }

  /** Shows a second run beside the open one, or hides it when it is already there. */
  async toggleBeside(id: number): Promise<void> {
    if (this.secondary?.id === id) {
      this.secondary = null;
      return;
    }
    if (!this.primary) return this.openRun(id);
    const detail = await this.getRun(id);
    if (detail && this.primary?.id !== id) this.secondary = detail;
  }

  /** Asks first, then deletes; false when the user said no or the services refused. */
  private async confirmDelete(title: string, message: string, okLabel: string, remove: () => Promise<null>): Promise<boolean> {
    const sure = await dialogs.confirm({ title, message, okLabel, danger: true });
    return sure && (await dialogs.attempt(remove)) !== undefined;
  }

  async deleteRun(run: ComparisonSummary): Promise<void> {
    const deleted = await this.confirmDelete(
      `Delete “${run.name}”?`,
      'Its results, charts and misclassified images are deleted. Labels, images and trained heads are not touched.',
      'Delete run',
      () => call('compare.delete', { id: run.id, confirm: true }),
    );
    if (!deleted) return;
    if (this.primary?.id === run.id) [this.primary, this.secondary] = [this.secondary, null];
    if (this.secondary?.id === run.id) this.secondary = null;
    await dialogs.attempt(() => this.loadRuns());
  }

  // ================= trained heads =================

  /** Trains a head on every label: by default the panel's strategy with the form's teacher; `otherModelIds`: more teachers it reads. */
  async train(strategy = this.trainStrategy, modelId = this.form.modelId, from = 'panel', otherModelIds: string[] = []): Promise<void> {
    this.trainFrom = from;
    // The panel's menu follows: trained from a verdict or a Retrain, it now names that strategy.
    this.trainStrategy = strategy;
    if (!modelId) {
      this.trainError = 'Choose an installed teacher in the form above.';
      return;
    }
    this.trainError = null;
    this.training = true;
    try {
      await this.trainer.start({ modelId, strategy, ...(otherModelIds.length > 0 ? { modelIds: [modelId, ...otherModelIds] } : {}) });
    } catch (error) {
      this.trainError = messageOf(error);
    } finally {
      this.training = false;
    }
  }

  /** Trains a stale head again: the same strategy and teachers, on the labels as they are now. */
  retrain(head: HeadSummary): Promise<void> {
    const others = head.teachers.slice(1).map((t) => t.id);
    return this.train({ name: head.strategy, params: head.params }, head.modelId, `head-${head.id}`, others);
  }

  /** Adds a configured strategy to the form; what is wrong with its parameters instead, if anything. */
  addConfigured(spec: StrategySpec): string | null {
    const problems = strategyParamProblems(spec.name, spec.params ?? {});
    if (problems.length > 0) return problems.join('; ');
    const label = strategyLabel(spec);
    if (label === spec.name) return 'Every value is the default: check the strategy itself instead.';
    if (!this.form.configured.some((s) => strategyLabel(s) === label)) this.form.configured = [...this.form.configured, spec];
    return null;
  }

  removeConfigured(label: string): void {
    this.form.configured = this.form.configured.filter((s) => strategyLabel(s) !== label);
  }

  /** The form's mode, with its own default count when the count was left at the other mode's default. */
  setMode(mode: ComparisonConfig['mode']): void {
    if (this.form.repeats === DEFAULT_REPEATS[this.form.mode]) this.form.repeats = DEFAULT_REPEATS[mode];
    this.form.mode = mode;
  }

  /** Shows an image of a run in the preview, over this view (Esc comes back). */
  async previewImage(imageId: number): Promise<void> {
    await grid.focusImage(imageId);
    if (grid.focused?.id === imageId) dialogs.previewOpen = true;
    else dialogs.showNotice('That image is no longer in the project.');
  }

  async cancelTraining(): Promise<void> {
    await dialogs.attempt(() => this.trainer.cancel());
  }

  private async finishTraining(job: JobProgress): Promise<void> {
    if (job.state === 'failed') this.trainError = `Training failed: ${job.message}`;
    await dialogs.attempt(() => this.loadHeads());
  }

  async deleteHead(head: HeadSummary): Promise<void> {
    const deleted = await this.confirmDelete(
      `Delete head “${head.name}”?`,
      'The trained classifier is deleted; train it again at any time from the same labels.',
      'Delete head',
      () => call('heads.delete', { id: head.id, confirm: true }),
    );
    if (deleted) await dialogs.attempt(() => this.loadHeads());
  }

  // ================= from the services =================

  async onChange(kinds: ReadonlySet<ChangeKind>): Promise<void> {
    if (!this.open) return;
    const all = kinds.has('project');
    const loads: Promise<void>[] = [];
    if (all || kinds.has('comparisons')) loads.push(this.loadRuns());
    // Labels and classes tell whether a head is stale.
    if (all || kinds.has('heads') || kinds.has('labels') || kinds.has('classes')) loads.push(this.loadHeads());
    await Promise.all(loads);
  }

  /** Another project: nothing of the last one is shown. */
  onProjectLoaded(): void {
    this.open = false;
    this.runs = [];
    this.primary = null;
    this.secondary = null;
    this.comparing.forget();
    this.startError = null;
    this.heads = [];
    this.trainer.forget();
    this.trainError = null;
    this.trainFrom = 'panel';
  }
}

export const comparison = new Comparison();
