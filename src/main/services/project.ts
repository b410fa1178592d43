/** One open project: its SQLite file and the services that work on it. */
import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { ProjectSummary } from '../../shared/contract';
import { extractFeatures, type ExtractionOptions, type ExtractionReport } from '../features/extraction';
import { FeatureCache } from '../features/feature-cache';
import { ClassService } from './class-service';
import { ComparisonService } from './comparison-service';
import { HeadService } from './head-service';
import { PredictionService } from './prediction-service';
import { StudioError } from '../core/errors';
import { ImageService } from './image-service';
import { ImportService } from './import-service';
import { DEFAULT_LEASE_TIMINGS, JobLeases } from './job-leases';
import { LabelService } from './label-service';
import { getMeta, openProjectDb, setMeta, type ProjectDb } from './project-db';

export const PROJECT_EXTENSION = '.atl';

export class Project {
  readonly classes: ClassService;
  readonly labels: LabelService;
  readonly images: ImageService;
  readonly imports: ImportService;
  readonly features: FeatureCache;
  readonly comparisons: ComparisonService;
  readonly heads: HeadService;
  readonly predictions: PredictionService;
  /** Which process runs the project's running imports and comparisons. */
  private readonly leases: JobLeases;

  private constructor(
    private readonly db: ProjectDb,
    private readonly filePath: string,
    leaseStaleMs = DEFAULT_LEASE_TIMINGS.staleMs,
  ) {
    this.leases = new JobLeases(db, { ...DEFAULT_LEASE_TIMINGS, staleMs: leaseStaleMs });
    this.classes = new ClassService(db);
    this.labels = new LabelService(db);
    this.images = new ImageService(db);
    this.imports = new ImportService(db, this.classes, this.labels, this.leases);
    this.features = new FeatureCache(db);
    this.comparisons = new ComparisonService(db, this.leases);
    this.heads = new HeadService(db);
    this.predictions = new PredictionService(db);
  }

  static create(path: string, name?: string): Project {
    if (extname(path) !== PROJECT_EXTENSION) throw new StudioError('invalid_input', `Project files end in ${PROJECT_EXTENSION}: ${path}`);
    const db = openProjectDb(path, { create: true });
    setMeta(db, 'name', name ?? basename(path, PROJECT_EXTENSION));
    setMeta(db, 'created_at', new Date().toISOString());
    return new Project(db, path);
  }

  /**
   * Opens a project file; its imports and comparisons left running by a process that stopped are
   * marked as such. `leaseStaleMs`: how long without a heartbeat makes another process's job
   * count as stopped (tests shorten it).
   */
  static open(path: string, options: { leaseStaleMs?: number } = {}): Project {
    const project = new Project(openProjectDb(path, { create: false }), path, options.leaseStaleMs);
    project.imports.markInterrupted();
    project.comparisons.markInterrupted();
    return project;
  }

  get path(): string {
    return this.filePath;
  }

  get name(): string {
    return getMeta(this.db, 'name') ?? basename(this.filePath, PROJECT_EXTENSION);
  }

  /** Extracts (or completes) the cached features of every image of this project. */
  extractFeatures(options: Omit<ExtractionOptions, 'cache' | 'images'>): Promise<ExtractionReport> {
    return extractFeatures({ ...options, cache: this.features, images: this.images.sources() });
  }

  summary(): ProjectSummary {
    const { images, labeled } = this.images.count();
    return { path: this.filePath, name: this.name, images, labeled, classes: this.classes.list().length };
  }

  /**
   * Renames the project and its file (same folder) and returns the reopened project. The WAL is
   * folded into the main file first, so that the one file is the whole project when it moves.
   */
  renamed(name: string): Project {
    const target = join(dirname(this.filePath), `${safeFileName(name)}${PROJECT_EXTENSION}`);
    if (target !== this.filePath && existsSync(target)) {
      throw new StudioError('conflict', `${target} exists already: choose another name`);
    }
    setMeta(this.db, 'name', name);
    if (target === this.filePath) return this;
    this.close();
    try {
      renameSync(this.filePath, target);
    } catch {
      // The file could not move (permissions, another program holds it): it stays where it
      // was, under its new display name, and the summary the user sees shows the old path.
      return Project.open(this.filePath);
    }
    return Project.open(target);
  }

  close(): void {
    if (this.db.open) {
      this.leases.releaseAll(); // its jobs stop with it (the studio refuses to close while one runs)
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}

/**
 * How many imports and comparisons another live process runs in the project file at `path`, read
 * without opening it as a project; 0 when it is not a readable project (nothing can run in it).
 */
export function jobsRunningElsewhere(path: string): number {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return new JobLeases(db).runningElsewhere().length;
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/** A file name that works on every OS, from a display name. */
export function safeFileName(name: string): string {
  const cleaned = name.replace(/[<>:"/\\|?*\x00-\x1f]/g, '_').replace(/^[.\s]+|[.\s]+$/g, '').slice(0, 120);
  return cleaned || 'project';
}
