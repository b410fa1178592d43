/** Reading a project's images: grid rows, details, thumbnails and previews. */
import { readFile } from 'node:fs/promises';
import { sep } from 'node:path';
import sharp from 'sharp';
import type { ImageDetail, ImageFilter, ImageRow, ImageSort } from '../../shared/contract';
import { StudioError } from '../core/errors';
import type { ProjectDb } from './project-db';
import { PIXEL_LIMIT } from './image-decoding';
import { packThumbnails, type ThumbnailBytes } from '../../shared/thumbnail-batch';

/** Previews are re-encoded (any format sharp reads, EXIF-rotated) and capped to this longest side. */
const PREVIEW_MAX_SIDE = 2048;

export interface MediaBytes {
  bytes: Buffer;
  contentType: string;
}

/** The WHERE clause of a filter and its parameters (tables: images i, labels l, predictions p). */
function filterClause(filter: ImageFilter): { where: string; params: number[] } {
  const where =
    filter.kind === 'unlabeled'
      ? 'WHERE l.image_id IS NULL'
      : filter.kind === 'class'
        ? 'WHERE l.class_id = ?'
        : filter.kind === 'predicted'
          ? `WHERE p.class_id = ? AND (l.source IS NULL OR l.source <> 'human')`
          : '';
  return { where, params: filter.kind === 'class' || filter.kind === 'predicted' ? [filter.classId] : [] };
}

/** The tables a list reads: each image with its label, the active head's prediction and that prediction's class. */
const LISTED_FROM = `FROM images i
           LEFT JOIN labels l ON l.image_id = i.id
           LEFT JOIN predictions p ON p.image_id = i.id AND p.head_id = (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'active_head')
           -- A class deleted since the head was trained is no prediction to show.
           LEFT JOIN classes pc ON pc.id = p.class_id`;

/** The smallest and largest path, each found in the index of paths (migration 9). */
export const SHARED_FOLDER_ENDS = 'SELECT (SELECT min(original_path) FROM images) AS first, (SELECT max(original_path) FROM images) AS last';

export class ImageService {
  constructor(private readonly db: ProjectDb) {}

  /**
   * Grid rows, with the active head's prediction (see `PredictionService`) where it has one, and
   * each file's path from the deepest folder that holds every image of the project.
   */
  list(filter: ImageFilter, sort: ImageSort): ImageRow[] {
    return this.rows(filter, sort);
  }

  /**
   * `limit` rows of the list from `offset` on, and how many the whole list holds: the grid reads a
   * large project page by page, so opening it costs one page, not the whole list.
   */
  page(filter: ImageFilter, sort: ImageSort, offset: number, limit: number): { total: number; rows: ImageRow[] } {
    const { where, params } = filterClause(filter);
    // Every image: a count of the table alone (the joins only matter to a filter).
    const { total } = this.db
      .prepare(where === '' ? 'SELECT count(*) AS total FROM images' : `SELECT count(*) AS total ${LISTED_FROM} ${where}`)
      .get(...params) as { total: number };
    return { total, rows: this.rows(filter, sort, { offset, limit }) };
  }

  private rows(filter: ImageFilter, sort: ImageSort, page?: { offset: number; limit: number }): ImageRow[] {
    const { where, params } = filterClause(filter);
    const order = sort === 'name' ? 'i.file_name COLLATE NOCASE, i.id' : sort === 'confidence' ? 'pc.id IS NULL, p.confidence, i.id' : 'i.id';
    const columns = `i.id, i.file_name AS name, i.original_path AS path, l.class_id AS classId, i.width, i.height, l.source,
                pc.id AS predictedClassId, CASE WHEN pc.id IS NULL THEN NULL ELSE p.confidence END AS confidence`;
    // A page: its ids first, then their rows. OFFSET steps through every row it skips, and stepping
    // through ids alone (SQLite leaves out the joins an order does not need) took a page at 98,000
    // of 100,000 from 176 to 57 ms in import order, and from 466-546 to 196-248 ms in the others.
    const sql = page
      ? `SELECT ${columns} ${LISTED_FROM}
          WHERE i.id IN (SELECT i.id ${LISTED_FROM} ${where} ORDER BY ${order} LIMIT ? OFFSET ?) ORDER BY ${order}`
      : `SELECT ${columns} ${LISTED_FROM} ${where} ORDER BY ${order}`;
    const rows = this.db.prepare(sql).all(...params, ...(page ? [page.limit, page.offset] : [])) as ImageRow[];
    const shared = this.sharedFolder().length;
    for (const row of rows) row.path = row.path.slice(shared).split(sep).join('/');
    return rows;
  }

  /**
   * The deepest folder holding every image of the project, with its trailing separator; filtered
   * lists use it too, so a file reads the same whatever the filter. The common prefix of a set
   * of strings is the one of its smallest and largest.
   */
  private sharedFolder(): string {
    // Two subqueries: one min() or max() alone is a search of the index; both in one query scan it.
    const { first, last } = this.db.prepare(SHARED_FOLDER_ENDS).get() as {
      first: string | null;
      last: string | null;
    };
    if (first === null || last === null) return '';
    let common = 0;
    while (common < first.length && first[common] === last[common]) common++;
    return first.slice(0, first.lastIndexOf(sep, common - 1) + 1);
  }

  get(id: number): ImageDetail {
    const row = this.db
      .prepare(
        `SELECT i.id, i.file_name AS name, l.class_id AS classId, i.width, i.height, i.sha256,
                i.original_path AS originalPath, i.format, i.bytes, i.imported_at AS importedAt,
                l.source AS labelSource
           FROM images i LEFT JOIN labels l ON l.image_id = i.id WHERE i.id = ?`,
      )
      .get(id) as ImageDetail | undefined;
    if (!row) throw new StudioError('not_found', `No image with id ${id}`);
    return row;
  }

  thumbnail(id: number): MediaBytes {
    const row = this.db.prepare('SELECT thumbnail FROM images WHERE id = ?').get(id) as { thumbnail: Buffer } | undefined;
    if (!row) throw new StudioError('not_found', `No image with id ${id}`);
    return { bytes: row.thumbnail, contentType: 'image/webp' };
  }

  /** Many thumbnails in one answer, packed (src/shared/thumbnail-batch.ts); ids the project lacks are left out. */
  thumbnails(ids: readonly number[]): MediaBytes {
    const rows = this.db
      .prepare('SELECT id, thumbnail AS bytes FROM images WHERE id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(ids)) as ThumbnailBytes[];
    const packed = packThumbnails(rows);
    return { bytes: Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength), contentType: 'application/octet-stream' };
  }

  /** A browser-displayable copy of the original; the thumbnail when the original has moved. */
  async preview(id: number): Promise<MediaBytes> {
    const { originalPath } = this.get(id);
    let original: Buffer;
    try {
      original = await readFile(originalPath);
    } catch {
      return this.thumbnail(id);
    }
    const bytes = await sharp(original, { limitInputPixels: PIXEL_LIMIT })
      .rotate()
      .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 90 })
      .toBuffer();
    return { bytes, contentType: 'image/webp' };
  }

  /** Every image's identity and original file, in import order: what feature extraction reads. */
  sources(): { id: number; sha256: string; path: string }[] {
    return this.db.prepare('SELECT id, sha256, original_path AS path FROM images ORDER BY id').all() as { id: number; sha256: string; path: string }[];
  }

  count(): { images: number; labeled: number } {
    return this.db
      .prepare('SELECT (SELECT COUNT(*) FROM images) AS images, (SELECT COUNT(*) FROM labels) AS labeled')
      .get() as { images: number; labeled: number };
  }
}
