/**
 * Importing files and folders into a project. Bad files never stop an import: each goes into the
 * report with its reason. Results are written in small transactions as they come, so a crash
 * leaves a consistent project, and importing the same folders again completes it (images are
 * identified by the sha256 of their bytes, so nothing is imported twice).
 */
import { createHash } from 'node:crypto';
import { opendir, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import type { ImportFailure, ImportReport } from '../../shared/contract';
import type { ClassService } from './class-service';
import { errorMessage } from './errors';
import { decodeForImport, IMAGE_EXTENSIONS, ImageRejected, MAX_FILE_BYTES, type DecodedImage } from './image-decoding';
import type { LabelService } from './label-service';
import { nowIso, type ProjectDb } from './project-db';

export interface ImportOptions {
  roots: string[];
  labelsFromFolders: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
}

interface ImportCounts {
  found: number;
  done: number;
  imported: number;
  duplicates: number;
  failed: number;
  skipped: number;
}

export interface ImportProgress extends ImportCounts {
  importId: number;
  elapsedSeconds: number;
}


interface Candidate {
  path: string;
  /** Class from the folder structure (`Greek/character01`), or null. */
  folderClass: string | null;
}

type Outcome =
  | { kind: 'image'; candidate: Candidate; sha256: string; bytes: number; decoded: DecodedImage }
  | { kind: 'duplicate'; candidate: Candidate; sha256: string }
  | { kind: 'failed'; candidate: Candidate; reason: string };

const WRITE_BATCH = 64;
const PROGRESS_INTERVAL_MS = 200;

export class ImportService {
  constructor(
    private readonly db: ProjectDb,
    private readonly classes: ClassService,
    private readonly labels: LabelService,
  ) {}

  /** Imports left 'running' by a crash are marked so that their report says what happened. */
  markInterrupted(): void {
    this.db.prepare("UPDATE imports SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(nowIso());
  }

  async run(options: ImportOptions): Promise<ImportReport> {
    const started = Date.now();
    const roots = options.roots.map((root) => resolve(root));
    const importId = Number(
      this.db
        .prepare('INSERT INTO imports (started_at, roots, labels_from_folders, status) VALUES (?, ?, ?, ?)')
        .run(nowIso(), JSON.stringify(roots), options.labelsFromFolders ? 1 : 0, 'running').lastInsertRowid,
    );
    const counts: ImportCounts = { found: 0, done: 0, imported: 0, duplicates: 0, failed: 0, skipped: 0 };
    const report = (): ImportProgress => ({ importId, ...counts, elapsedSeconds: (Date.now() - started) / 1000 });

    try {
      const candidates: Candidate[] = [];
      const scanFailures: ImportFailure[] = [];
      for (const root of roots) {
        await scan(root, options.labelsFromFolders, candidates, scanFailures, () => counts.skipped++, options.signal);
      }
      counts.found = candidates.length + scanFailures.length;
      counts.failed = scanFailures.length;
      counts.done = scanFailures.length;
      this.writeBatch(importId, [], scanFailures, counts);

      let lastProgress = 0;
      const pending: Outcome[] = [];
      // Files finish out of order; they are written in scan order, so "import order" means
      // the order of the folder, and the same sha256 twice is decided by the first file.
      const finished = new Map<number, Outcome>();
      let nextToWrite = 0;
      const flush = () => {
        const batch = pending.splice(0);
        this.writeBatch(importId, batch, [], counts);
        if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
          lastProgress = Date.now();
          options.onProgress?.(report());
        }
      };

      await forEachConcurrently(candidates, availableParallelism() * 2, options.signal, async (candidate, index) => {
        const outcome = await this.examine(candidate);
        counts.done++;
        if (outcome.kind === 'failed') counts.failed++;
        finished.set(index, outcome);
        for (let next = finished.get(nextToWrite); next; next = finished.get(nextToWrite)) {
          pending.push(next);
          finished.delete(nextToWrite++);
        }
        if (pending.length >= WRITE_BATCH || Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) flush();
      });
      flush();
      const status = options.signal?.aborted ? 'cancelled' : 'completed';
      this.db.prepare('UPDATE imports SET status = ?, finished_at = ? WHERE id = ?').run(status, nowIso(), importId);
    } catch (error) {
      this.db
        .prepare("UPDATE imports SET status = 'failed', finished_at = ? WHERE id = ?")
        .run(nowIso(), importId);
      this.db
        .prepare('INSERT INTO import_failures (import_id, path, reason) VALUES (?, ?, ?)')
        .run(importId, roots.join(', '), `Import stopped: ${errorMessage(error)}`);
      throw error;
    } finally {
      options.onProgress?.(report());
    }
    return this.report(importId);
  }

  reports(): ImportReport[] {
    const rows = this.db.prepare('SELECT id FROM imports ORDER BY id DESC').all() as { id: number }[];
    return rows.map((row) => this.report(row.id));
  }

  report(importId: number): ImportReport {
    const row = this.db.prepare('SELECT * FROM imports WHERE id = ?').get(importId) as {
      id: number;
      started_at: string;
      finished_at: string | null;
      roots: string;
      labels_from_folders: number;
      status: ImportReport['status'];
      found: number;
      imported: number;
      duplicates: number;
      skipped: number;
    };
    const failed = this.db
      .prepare('SELECT path, reason FROM import_failures WHERE import_id = ? ORDER BY id')
      .all(importId) as ImportFailure[];
    return {
      id: row.id,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      roots: JSON.parse(row.roots) as string[],
      labelsFromFolders: row.labels_from_folders === 1,
      status: row.status,
      found: row.found,
      imported: row.imported,
      duplicates: row.duplicates,
      failed,
      skipped: row.skipped,
    };
  }

  /** Reads, hashes and decodes one file; never throws. */
  private async examine(candidate: Candidate): Promise<Outcome> {
    try {
      const info = await stat(candidate.path);
      if (info.size > MAX_FILE_BYTES) {
        throw new ImageRejected(`File is ${(info.size / 2 ** 20).toFixed(0)} MB, over the ${MAX_FILE_BYTES / 2 ** 20} MB limit`);
      }
      const bytes = await readFile(candidate.path);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (this.db.prepare('SELECT 1 FROM images WHERE sha256 = ?').get(sha256)) {
        return { kind: 'duplicate', candidate, sha256 }; // a re-import skips decoding
      }
      const decoded = await decodeForImport(bytes);
      return { kind: 'image', candidate, sha256, bytes: bytes.length, decoded };
    } catch (error) {
      return { kind: 'failed', candidate, reason: failureReason(error) };
    }
  }

  private writeBatch(importId: number, outcomes: Outcome[], scanFailures: ImportFailure[], counts: ImportCounts): void {
    const insertImage = this.db.prepare(
      `INSERT INTO images (sha256, original_path, file_name, width, height, format, bytes, imported_at, import_id, thumbnail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO NOTHING`,
    );
    const imageId = this.db.prepare('SELECT id FROM images WHERE sha256 = ?');
    const insertFailure = this.db.prepare('INSERT INTO import_failures (import_id, path, reason) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const failure of scanFailures) insertFailure.run(importId, failure.path, failure.reason);
      for (const outcome of outcomes) {
        if (outcome.kind === 'failed') {
          insertFailure.run(importId, outcome.candidate.path, outcome.reason);
          continue;
        }
        if (outcome.kind === 'image') {
          const { decoded, candidate } = outcome;
          const inserted = insertImage.run(
            outcome.sha256, candidate.path, basename(candidate.path), decoded.width, decoded.height,
            decoded.format, outcome.bytes, nowIso(), importId, decoded.thumbnail,
          );
          if (inserted.changes === 1) counts.imported++;
          else counts.duplicates++; // the same bytes earlier in this import
        } else {
          counts.duplicates++;
        }
        // A duplicate that is still unlabeled gets its folder's class: this is how a re-import
        // completes an interrupted one.
        if (outcome.candidate.folderClass) {
          const { id } = imageId.get(outcome.sha256) as { id: number };
          this.labels.labelFromImport(id, this.classes.ensure(outcome.candidate.folderClass));
        }
      }
      this.db
        .prepare('UPDATE imports SET found = ?, imported = ?, duplicates = ?, skipped = ? WHERE id = ?')
        .run(counts.found, counts.imported, counts.duplicates, counts.skipped, importId);
    })();
  }
}

/** Walks a file or folder; image files become candidates, other files are counted as skipped. */
async function scan(
  root: string,
  labelsFromFolders: boolean,
  candidates: Candidate[],
  failures: ImportFailure[],
  onSkipped: () => void,
  signal?: AbortSignal,
): Promise<void> {
  let rootInfo;
  try {
    rootInfo = await stat(root);
  } catch (error) {
    failures.push({ path: root, reason: failureReason(error) });
    return;
  }
  if (!rootInfo.isDirectory()) {
    // A file named explicitly is always tried, whatever its extension.
    candidates.push({ path: root, folderClass: null });
    return;
  }
  const walk = async (dir: string): Promise<void> => {
    if (signal?.aborted) return;
    let entries;
    try {
      entries = await opendir(dir);
    } catch (error) {
      failures.push({ path: dir, reason: failureReason(error) });
      return;
    }
    const files: string[] = [];
    const dirs: string[] = [];
    for await (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // .DS_Store, .git, editor files
      const path = join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(path);
      else if (entry.isFile()) files.push(path);
    }
    files.sort();
    dirs.sort();
    for (const path of files) {
      if (!IMAGE_EXTENSIONS.has(extname(path).toLowerCase())) {
        onSkipped();
        continue;
      }
      const folder = relative(root, dirname(path)).split(sep).join('/');
      candidates.push({ path, folderClass: labelsFromFolders && folder !== '' ? folder : null });
    }
    for (const path of dirs) await walk(path);
  };
  await walk(root);
}

/** Runs `task` over `items` with at most `limit` at once; stops starting new ones when aborted. */
async function forEachConcurrently<T>(
  items: T[],
  limit: number,
  signal: AbortSignal | undefined,
  task: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal?.aborted) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function failureReason(error: unknown): string {
  if (error instanceof ImageRejected) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'File or folder not found';
  if (code === 'EACCES' || code === 'EPERM') return 'Permission denied: the studio cannot read this path';
  if (code === 'EISDIR') return 'Is a folder, not a file';
  return `Cannot read: ${errorMessage(error)}`;
}
