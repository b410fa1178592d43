/** The active head's predictions for every image as CSV or JSON: path, class, confidence, and each class's probability. */
import { writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { ExportResult } from '../../shared/contract';
import type { Project } from '../services/project';
import { StudioError } from '../core/errors';

export interface PredictionRecord {
  path: string;
  class: string;
  confidence: number;
  /** The label a person gave (or accepted), if any. */
  label: string | null;
  probabilities: Record<string, number>;
}

export function predictionRecords(project: Project): PredictionRecord[] {
  const status = project.predictions.status(project);
  if (!status.head) throw new StudioError('not_found', 'No predictions yet: train a head and run it on the project first');
  const names = status.head.classes.map((c) => c.name);
  const classNames = new Map(project.classes.list().map((c) => [c.id, c.name]));
  const labels = new Map(project.images.list({ kind: 'all' }, 'import').map((r) => [r.id, r.classId]));
  return project.predictions.list().map((p) => ({
    path: p.path,
    class: classNames.get(p.classId) ?? String(p.classId),
    confidence: p.confidence,
    label: classNames.get(labels.get(p.imageId) ?? -1) ?? null,
    probabilities: Object.fromEntries(names.map((name, c) => [name, p.probabilities[c]])),
  }));
}

export function writePredictions(project: Project, format: 'csv' | 'json', path: string): ExportResult {
  const target = resolve(path);
  if (extname(target).toLowerCase() !== `.${format}`) throw new StudioError('invalid_input', `A ${format.toUpperCase()} file name ends in .${format}: ${target}`);
  const records = predictionRecords(project);
  const text = format === 'json' ? `${JSON.stringify(records, null, 2)}\n` : toCsv(records);
  try {
    // 'wx': never overwrite. The path comes from the UI, and a typo must not replace someone's file.
    writeFileSync(target, text, { flag: 'wx' });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EEXIST') throw new StudioError('conflict', `${target} exists already: choose another name`);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new StudioError('invalid_input', `The folder of ${target} does not exist`);
    throw error;
  }
  return { dir: target, files: [{ name: target, bytes: Buffer.byteLength(text) }] };
}

function toCsv(records: PredictionRecord[]): string {
  const classes = Object.keys(records[0]?.probabilities ?? {});
  const header = ['path', 'class', 'confidence', 'label', ...classes.map((c) => `p_${c}`)];
  const rows = records.map((r) => [r.path, r.class, r.confidence.toFixed(6), r.label ?? '', ...classes.map((c) => r.probabilities[c].toFixed(6))]);
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

/** RFC 4180: quote cells with commas, quotes or line breaks. */
export function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
