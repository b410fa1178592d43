/**
 * Files and folders dropped on the window. Electron knows their paths on disk, so they are imported
 * in place; a browser only gets their contents, which the web mode uploads first.
 */
import { front, pathForFile, type UploadItem } from './api';

export type DropContents = { kind: 'paths'; paths: string[] } | { kind: 'files'; groups: UploadItem[][] };

/** Whether a drag carries files (and not, say, a text selection). */
export function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

/**
 * Reads a drop. Must be called inside the `drop` handler: the browser empties the DataTransfer
 * once the event is over, so its entries are taken synchronously before anything is awaited.
 */
export function readDrop(data: DataTransfer): Promise<DropContents> {
  if (front === 'electron') {
    const paths = [...data.files].map((f) => pathForFile(f)).filter((p): p is string => Boolean(p));
    return Promise.resolve({ kind: 'paths', paths });
  }
  const entries = [...data.items].map((item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  // Without entries (some browsers, synthetic drops) the plain file list is all there is.
  if (entries.length === 0) {
    const loose = [...data.files].map((file) => ({ file, relativePath: file.name }));
    return Promise.resolve({ kind: 'files', groups: loose.length > 0 ? [loose] : [] });
  }
  return collectGroups(entries).then((groups) => ({ kind: 'files', groups }));
}

/**
 * One group per dropped folder, with paths relative to that folder (so that "labels from folders"
 * names classes as an import of that folder would), and one group for loose files.
 */
async function collectGroups(entries: FileSystemEntry[]): Promise<UploadItem[][]> {
  const groups: UploadItem[][] = [];
  const loose: UploadItem[] = [];
  for (const entry of entries) {
    if (entry.isDirectory) {
      const items: UploadItem[] = [];
      await walk(entry as FileSystemDirectoryEntry, '', items);
      if (items.length > 0) groups.push(items);
    } else if (entry.isFile) {
      loose.push({ file: await fileOf(entry as FileSystemFileEntry), relativePath: entry.name });
    }
  }
  if (loose.length > 0) groups.push(loose);
  return groups;
}

async function walk(dir: FileSystemDirectoryEntry, prefix: string, out: UploadItem[]): Promise<void> {
  for (const entry of await readAll(dir)) {
    const relativePath = prefix + entry.name;
    if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${relativePath}/`, out);
    else if (entry.isFile) out.push({ file: await fileOf(entry as FileSystemFileEntry), relativePath });
  }
}

/** readEntries hands out a directory in chunks (100 at a time in Chromium) until it returns none. */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (chunk.length === 0) return all;
    all.push(...chunk);
  }
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}
