/**
 * Strategy comparisons on a project: a run is stored when it starts (its configuration, each
 * strategy with every parameter, the studio's version), and its
 * results when it ends, in one transaction: per-cell summaries, per-episode accuracies, confusion
 * counts, the most misclassified images, and the per-layer profile. Past runs reopen as they were.
 */
import type { ComparisonConfig, ComparisonDetail, ComparisonSummary, RunStatus } from '../../shared/contract';
import { ACROSS_TEACHERS, pairAcrossTeachers, planComparison, runComparison, teacherRuns, type ComparisonOutcome, type ShotPlan } from '../atl/comparison';
import { resolveStrategy } from '../atl/strategies';
import type { FeatureSet } from '../atl/features';
import type { OpenTeacher } from '../models/teacher-service';
import { StudioError } from '../core/errors';
import type { JobLeases } from './job-leases';
import { loadLabeledFeaturesOfTeachers, type TeacherToLoad } from './labeled-features';
import type { Project } from './project';
import { nowIso } from './meta';
import type { ProjectDb } from './project-db';
import { runEpisodesOffThread } from './compute-thread';
import { STUDIO_VERSION } from './studio-version';

interface RunRow {
  id: number;
  name: string;
  created_at: string;
  finished_at: string | null;
  status: RunStatus;
  config: string;
  teacher_name: string;
  message: string | null;
  classes: string | null;
  timings: string | null;
  /** JSON [{name, params}]; null for runs made before migration 7 (the config's strategies, defaults). */
  strategies: string | null;
  studio_version: string | null;
  /** JSON [{id, name, key}] of several teachers, the baseline first; null: the one teacher of teacher_name. */
  teachers: string | null;
}

/**
 * A run of several teachers stores each result's teacher in its strategy column, as
 * `teacher/label` (as candidate keys are `teacher/layer:pooling`); a run of one teacher, the label alone.
 */
function storedStrategy(teacher: string | undefined, strategy: string): string {
  return teacher === undefined ? strategy : `${teacher}/${strategy}`;
}

/** A stored strategy column read back: `{teacher, strategy}` in a run of several teachers, `{strategy}` in one of one. */
function readStrategy(several: boolean, stored: string): { teacher?: string; strategy: string } {
  if (!several) return { strategy: stored };
  const slash = stored.indexOf('/');
  return { teacher: stored.slice(0, slash), strategy: stored.slice(slash + 1) };
}

export interface ComparisonProgress {
  /** Features of the labeled images first (counts images), then the strategies (counts episodes or splits). */
  phase: 'features' | 'strategies';
  done: number;
  total: number;
  message: string;
}

export class ComparisonService {
  constructor(
    private readonly db: ProjectDb,
    private readonly leases: JobLeases,
  ) {}

  /**
   * Runs left 'running' by a studio that stopped: they cannot resume, so they are marked as failed.
   * Runs another live process is running are left alone.
   */
  markInterrupted(): void {
    this.db
      .transaction(() => {
        const running = (this.db.prepare("SELECT id FROM comparison_runs WHERE status = 'running'").all() as { id: number }[]).map((r) => r.id);
        const mark = this.db.prepare(
          `UPDATE comparison_runs SET status = 'failed', message = 'Interrupted: the studio stopped while it ran', finished_at = ? WHERE id = ?`,
        );
        for (const id of this.leases.abandoned('comparison', running)) mark.run(nowIso(), id);
      })
      .immediate();
  }

  /** Stores a new run of the teacher, or of the teachers given (the baseline first). */
  create(config: ComparisonConfig, teacher: OpenTeacher | readonly OpenTeacher[], name?: string): number {
    const teachers = Array.isArray(teacher) ? (teacher as readonly OpenTeacher[]) : [teacher as OpenTeacher];
    const label = name ?? (config.mode === 'splits' ? `${config.repeats} splits of all labels` : `${config.shots.join('/')}-shot episodes`);
    // A bad parameter fails here, before the run is stored.
    const strategies = config.strategies.map(resolveStrategy);
    // The run is 'running' from here and this process holds its lease until `run` ends.
    return this.db.transaction(() => {
      const result = this.db
        .prepare(
          `INSERT INTO comparison_runs (name, created_at, status, config, teacher_name, teacher_key, strategies, studio_version, teachers) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          label,
          nowIso(),
          JSON.stringify(config),
          teachers[0].entry.name,
          teachers[0].key,
          JSON.stringify(strategies),
          STUDIO_VERSION,
          teachers.length > 1 ? JSON.stringify(teachers.map((t) => ({ id: t.entry.id, name: t.entry.name, key: t.key }))) : null,
        );
      this.leases.hold('comparison', Number(result.lastInsertRowid));
      return Number(result.lastInsertRowid);
    })();
  }

  /**
   * Loads (extracting as needed) the labeled images' features of every teacher (the same order as
   * `create`'s), runs the comparison, and stores the outcome. With several teachers every teacher ×
   * strategy sees the same episodes over the images all of them have. A cancel stores the run as
   * cancelled with what it finished (whole shot counts, and the episodes done of the one that was running).
   */
  async run(
    runId: number,
    project: Project,
    teachers: readonly TeacherToLoad[],
    signal: AbortSignal,
    onProgress: (progress: ComparisonProgress) => void,
  ): Promise<void> {
    const started = performance.now();
    const config = this.config(runId);
    const several = teachers.length > 1;
    try {
      const labeled = await loadLabeledFeaturesOfTeachers(project, teachers, {
        signal,
        onProgress: (teacher, pooling, p) =>
          onProgress({
            phase: 'features',
            done: p.cached + p.done,
            total: p.total,
            message: `Extracting ${several ? `${teacher.entry.name}'s ` : ''}features of ${p.total} labeled images first, needed by every strategy (${pooling === 'gap' ? 'pooled' : 'spatially pooled'}): ${p.cached + p.done} of ${p.total}`,
          }),
      });
      if (labeled.cancelled || signal.aborted) return this.finish(runId, 'cancelled', 'Cancelled while extracting features: no results');
      const featuresSeconds = (performance.now() - started) / 1000;
      const { plans, leftOut } = planComparison(
        labeled.classes.map((c) => c.rows),
        config,
      );
      const outcome = several
        ? await this.compareTeachers(labeled.teachers.map((t) => ({ teacher: t.teacher.entry.id, features: t.features })), labeled.classes.length, plans, config, signal, onProgress)
        : await runComparison(labeled.teachers[0].features, labeled.classes.length, plans, config.strategies, {
            signal,
            runEpisodes: runEpisodesOffThread,
            onProgress: (done, total, message) => onProgress({ phase: 'strategies', done, total, message }),
          });
      const failed = labeled.failures.length > 0 ? [`${labeled.failures.length} labeled images could not be read and were left out`] : [];
      const unit = config.mode === 'splits' ? 'splits' : 'episodes';
      const kept = outcome.cancelled
        ? [outcome.cells.length > 0 ? `Cancelled: the results hold the ${unit} finished before the cancel` : 'Cancelled before any result']
        : [];
      const classes = labeled.classes.map(({ id, name, color }) => ({ id, name, color }));
      const timings = { featuresSeconds, strategiesSeconds: outcome.strategiesSeconds, totalSeconds: (performance.now() - started) / 1000 };
      this.db.transaction(() => {
        const cell = this.db.prepare(
          `INSERT INTO comparison_cells (run_id, strategy, shots, ways, queries, repeats, mean, ci95, delta, delta_ci95, winner, fit_seconds, layers_chosen, confusion)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const c of outcome.cells) {
          const confusion = outcome.confusion.find((m) => m.teacher === c.teacher && m.strategy === c.strategy && m.shots === c.shots)!.matrix;
          cell.run(runId, storedStrategy(c.teacher, c.strategy), c.shots, c.ways, c.queries, c.repeats, c.mean, c.ci95, c.delta_vs_penultimate, c.delta_ci95, c.winner ? 1 : 0, c.fit_s, JSON.stringify(c.layers_chosen), JSON.stringify(confusion));
        }
        const episode = this.db.prepare('INSERT INTO comparison_episodes (run_id, strategy, shots, episode, accuracy) VALUES (?, ?, ?, ?, ?)');
        for (const e of outcome.episodeAccuracies) e.accuracies.forEach((a, i) => episode.run(runId, storedStrategy(e.teacher, e.strategy), e.shots, i, a));
        const mistake = this.db.prepare(
          'INSERT INTO comparison_mistakes (run_id, strategy, shots, image_id, true_class_id, predicted_class_id, count) VALUES (?, ?, ?, ?, ?, ?, ?)',
        );
        for (const m of outcome.mistakes) mistake.run(runId, storedStrategy(m.teacher, m.strategy), m.shots, labeled.imageIds[m.item], classes[m.trueClass].id, classes[m.predictedClass].id, m.count);
        const profile = this.db.prepare('INSERT INTO comparison_profile (run_id, candidate, layer, pooling, depth, shots, mean, ci95) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
        for (const p of outcome.profile) profile.run(runId, p.candidate, p.layer, p.pooling, p.depth, p.shots, p.mean, p.ci95);
        this.db
          .prepare(`UPDATE comparison_runs SET status = ?, finished_at = ?, message = ?, classes = ?, timings = ? WHERE id = ?`)
          .run(outcome.cancelled ? 'cancelled' : 'completed', nowIso(), [...kept, ...leftOut, ...failed].join('; ') || null, JSON.stringify(classes), JSON.stringify(timings), runId);
      })();
    } catch (error) {
      this.finish(runId, 'failed', (error as Error).message);
      throw error;
    } finally {
      this.leases.release('comparison', runId);
    }
  }

  /**
   * Each teacher's run on the same episodes (`atl-teachers` once on all of them, when asked for),
   * paired: Δ against the first teacher's penultimate. Progress counts every teacher's episodes.
   */
  private async compareTeachers(
    parts: { teacher: string; features: FeatureSet }[],
    classCount: number,
    plans: ShotPlan[],
    config: ComparisonConfig,
    signal: AbortSignal,
    onProgress: (progress: ComparisonProgress) => void,
  ): Promise<ComparisonOutcome> {
    const runs = teacherRuns(parts, config.strategies);
    const outcomes: ComparisonOutcome[] = [];
    for (const [r, run] of runs.entries()) {
      outcomes.push(
        await runComparison(run.features, classCount, plans, run.strategies, {
          signal,
          runEpisodes: runEpisodesOffThread,
          // Each candidate alone is already in its own teacher's profile.
          profile: run.teacher !== ACROSS_TEACHERS,
          onProgress: (done, total, message) =>
            onProgress({ phase: 'strategies', done: r * total + done, total: runs.length * total, message: `${run.teacher === ACROSS_TEACHERS ? 'All teachers' : run.teacher}: ${message}` }),
        }),
      );
      if (signal.aborted) break;
    }
    return pairAcrossTeachers(runs.slice(0, outcomes.length).map((r) => r.teacher), outcomes);
  }

  list(): ComparisonSummary[] {
    return (this.db.prepare('SELECT * FROM comparison_runs ORDER BY id DESC').all() as RunRow[]).map(toSummary);
  }

  get(id: number): ComparisonDetail {
    const row = this.db.prepare('SELECT * FROM comparison_runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new StudioError('not_found', `No comparison run ${id}`);
    const several = row.teachers !== null;
    const cells = this.db.prepare('SELECT * FROM comparison_cells WHERE run_id = ? ORDER BY shots, rowid').all(id) as {
      strategy: string;
      shots: number;
      ways: number;
      queries: number;
      repeats: number;
      mean: number;
      ci95: number;
      delta: number;
      delta_ci95: number;
      winner: number;
      fit_seconds: number;
      layers_chosen: string;
      confusion: string;
    }[];
    const mistakes = this.db
      .prepare(
        `SELECT strategy, shots, image_id AS imageId, true_class_id AS trueClassId, predicted_class_id AS predictedClassId, count
           FROM comparison_mistakes WHERE run_id = ? ORDER BY shots, strategy, count DESC, image_id`,
      )
      .all(id) as ComparisonDetail['mistakes'];
    for (const m of mistakes) Object.assign(m, readStrategy(several, m.strategy));
    const profile = this.db
      .prepare('SELECT candidate, layer, pooling, depth, shots, mean, ci95 FROM comparison_profile WHERE run_id = ? ORDER BY shots, depth, pooling')
      .all(id) as ComparisonDetail['profile'];
    // A run of several teachers' candidates are `teacher/layer:pooling`.
    if (several) for (const p of profile) p.teacher = p.candidate.slice(0, p.candidate.indexOf('/'));
    return {
      ...toSummary(row),
      classes: row.classes ? JSON.parse(row.classes) : [],
      cells: cells.map((c) => ({
        ...readStrategy(several, c.strategy),
        shots: c.shots,
        ways: c.ways,
        queries: c.queries,
        repeats: c.repeats,
        mean: c.mean,
        ci95: c.ci95,
        deltaVsPenultimate: c.delta,
        deltaCi95: c.delta_ci95,
        winner: c.winner === 1,
        fitSeconds: c.fit_seconds,
        layersChosen: JSON.parse(c.layers_chosen),
      })),
      confusion: cells.map((c) => ({ ...readStrategy(several, c.strategy), shots: c.shots, matrix: JSON.parse(c.confusion) })),
      mistakes,
      profile,
      timings: row.timings ? JSON.parse(row.timings) : { featuresSeconds: 0, strategiesSeconds: 0, totalSeconds: 0 },
    };
  }

  /** Accuracy per episode, in episode order, for one strategy (its label) and shot count; in a run of several teachers, of `teacher`. */
  episodeAccuracies(id: number, strategy: string, shots: number, teacher?: string): number[] {
    return (
      this.db
        .prepare('SELECT accuracy FROM comparison_episodes WHERE run_id = ? AND strategy = ? AND shots = ? ORDER BY episode')
        .all(id, storedStrategy(teacher, strategy), shots) as {
        accuracy: number;
      }[]
    ).map((r) => r.accuracy);
  }

  delete(id: number): void {
    const row = this.db.prepare('SELECT status FROM comparison_runs WHERE id = ?').get(id) as { status: RunStatus } | undefined;
    if (!row) throw new StudioError('not_found', `No comparison run ${id}`);
    // A run still 'running' whose process is gone (no live lease) stopped: it may go.
    const owner = row.status === 'running' ? this.leases.owner('comparison', id) : null;
    if (owner === 'this process') throw new StudioError('conflict', 'That comparison is running: cancel it first');
    if (owner === 'another process') {
      throw new StudioError('conflict', 'That comparison is still running in another window or process: cancel it there or wait for it to finish');
    }
    this.db.prepare('DELETE FROM comparison_runs WHERE id = ?').run(id);
  }

  private config(id: number): ComparisonConfig {
    const row = this.db.prepare('SELECT config FROM comparison_runs WHERE id = ?').get(id) as { config: string } | undefined;
    if (!row) throw new StudioError('not_found', `No comparison run ${id}`);
    return JSON.parse(row.config) as ComparisonConfig;
  }

  private finish(id: number, status: RunStatus, message: string | null): void {
    this.db.prepare('UPDATE comparison_runs SET status = ?, finished_at = ?, message = ? WHERE id = ?').run(status, nowIso(), message, id);
  }
}

function toSummary(row: RunRow): ComparisonSummary {
  const config = JSON.parse(row.config) as ComparisonConfig;
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    status: row.status,
    config,
    teacherName: row.teacher_name,
    teachers: row.teachers ? (JSON.parse(row.teachers) as { id: string; name: string }[]).map(({ id, name }) => ({ id, name })) : [{ id: config.modelId, name: row.teacher_name }],
    message: row.message,
    strategies: row.strategies ? JSON.parse(row.strategies) : config.strategies.map(resolveStrategy),
    studioVersion: row.studio_version,
  };
}
