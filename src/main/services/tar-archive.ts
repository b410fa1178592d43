/**
 * A small tar (POSIX ustar) writer and a reader that trusts nothing in the file: the format of
 * portable projects (`atl-studio pack`). Only regular files are written and read; every entry's
 * sha256 is computed as it is written, so the writer's caller can list them in a manifest.
 * The reader indexes headers first (checksums, safe relative names, sizes inside the file), so a
 * truncated or hostile archive is refused before anything is extracted.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { StudioError } from '../core/errors';

const BLOCK = 512;
/** ustar's 11 octal digits of size: up to 8 GiB − 1 per entry. */
const MAX_ENTRY_BYTES = 8 ** 11 - 1;

export interface WrittenEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export interface TarEntry {
  name: string;
  /** Where its bytes start in the archive. */
  offset: number;
  bytes: number;
}

/** A name an archive may hold: relative, '/'-separated, no '.', '..' or empty parts, no backslash or control characters. */
export function isSafeEntryName(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name.startsWith('/') || /[\\\x00-\x1f]/.test(name)) return false;
  return name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** The name and prefix fields of a ustar header for `name` (prefix + '/' + name when it is over 100 bytes). */
function splitName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let cut = name.indexOf('/'); cut !== -1; cut = name.indexOf('/', cut + 1)) {
    const [prefix, rest] = [name.slice(0, cut), name.slice(cut + 1)];
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  throw new StudioError('invalid_input', `The name ${name} is too long for the archive`);
}

/** A ustar header block for a regular file. */
export function tarHeader(name: string, bytes: number, mtimeSeconds: number): Buffer {
  if (!isSafeEntryName(name)) throw new StudioError('invalid_input', `Unsafe archive entry name: ${JSON.stringify(name)}`);
  if (bytes > MAX_ENTRY_BYTES) throw new StudioError('invalid_input', `${name} is over 8 GiB: too large for the archive`);
  const header = Buffer.alloc(BLOCK);
  const split = splitName(name);
  const field = (value: string, offset: number, length: number) => header.write(value, offset, length, 'utf8');
  const octal = (value: number, offset: number, length: number) => field(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  field(split.name, 0, 100);
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(bytes, 124, 12);
  octal(mtimeSeconds, 136, 12);
  field('        ', 148, 8); // the checksum counts its own field as spaces
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  field(split.prefix, 345, 155);
  octal(checksum(header), 148, 7);
  header[155] = 0x20;
  return header;
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  return sum;
}

function padding(bytes: number): Buffer {
  return Buffer.alloc((BLOCK - (bytes % BLOCK)) % BLOCK);
}

/** Writes a tar file entry by entry, streaming each file; `finish` writes the end blocks. */
export class TarWriter {
  private position = 0;
  readonly written: WrittenEntry[] = [];

  private constructor(private readonly file: FileHandle) {}

  /** Creates `path` (which must not exist). */
  static async create(path: string): Promise<TarWriter> {
    return new TarWriter(await open(path, 'wx'));
  }

  async addBytes(name: string, bytes: Buffer): Promise<WrittenEntry> {
    await this.write(tarHeader(name, bytes.length, Math.floor(Date.now() / 1000)));
    await this.write(bytes);
    await this.write(padding(bytes.length));
    return this.record(name, bytes.length, createHash('sha256').update(bytes).digest('hex'));
  }

  /** Streams the file at `path` in as `name`; fails if it changed size meanwhile. */
  async addFile(name: string, path: string, signal?: AbortSignal): Promise<WrittenEntry> {
    const stats = await stat(path);
    const bytes = stats.size;
    await this.write(tarHeader(name, bytes, Math.floor(stats.mtimeMs / 1000)));
    const hash = createHash('sha256');
    let copied = 0;
    for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) {
      const data = chunk as Buffer;
      copied += data.length;
      if (copied > bytes) break;
      hash.update(data);
      await this.write(data);
    }
    if (copied !== bytes) throw new StudioError('io', `${path} changed while it was being packed: try again`);
    await this.write(padding(bytes));
    return this.record(name, bytes, hash.digest('hex'));
  }

  /** The two zero blocks that end an archive; closes the file. */
  async finish(): Promise<number> {
    await this.write(Buffer.alloc(2 * BLOCK));
    await this.file.sync();
    await this.file.close();
    return this.position;
  }

  /** Closes the file after a failure (the caller removes it). */
  async abandon(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }

  private record(name: string, bytes: number, sha256: string): WrittenEntry {
    const entry = { name, bytes, sha256 };
    this.written.push(entry);
    return entry;
  }

  private async write(data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.file.write(data, done, data.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
}

function damaged(path: string, why: string): StudioError {
  return new StudioError('bad_file', `${path} is not a readable portable project: ${why}. Nothing was written.`);
}

function parseOctal(field: Buffer): number | null {
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return /^[0-7]{1,11}$/.test(text) ? parseInt(text, 8) : null;
}

/**
 * The regular-file entries of the tar file at `path`, in order. Refuses (bad_file) a header with a
 * wrong checksum, an entry that is not a regular file, an unsafe or repeated name, a size past the
 * end of the file (truncated, or a hostile size), more than `maxEntries` entries.
 */
export async function readTarIndex(path: string, maxEntries = 1_000_000): Promise<TarEntry[]> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const entries: TarEntry[] = [];
    const names = new Set<string>();
    const header = Buffer.alloc(BLOCK);
    for (let offset = 0; ; ) {
      if (offset + BLOCK > size) throw damaged(path, 'it ends in the middle (truncated)');
      await file.read(header, 0, BLOCK, offset);
      if (header.every((b) => b === 0)) return entries;
      if (parseOctal(header.subarray(148, 156)) !== checksum(header)) throw damaged(path, `the header at byte ${offset} is damaged`);
      const typeflag = String.fromCharCode(header[156]);
      if (typeflag !== '0' && typeflag !== '\0') throw damaged(path, `the entry at byte ${offset} is not a plain file`);
      const cString = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
      const prefix = cString(345, 155);
      const name = prefix ? `${prefix}/${cString(0, 100)}` : cString(0, 100);
      if (!isSafeEntryName(name)) throw damaged(path, `it holds an unsafe name ${JSON.stringify(name)}`);
      if (names.has(name)) throw damaged(path, `it holds ${name} twice`);
      const bytes = parseOctal(header.subarray(124, 136));
      if (bytes === null) throw damaged(path, `the size of ${name} is unreadable`);
      const start = offset + BLOCK;
      if (start + bytes > size) throw damaged(path, `${name} declares ${bytes} bytes, past the end of the file (truncated)`);
      if (entries.length >= maxEntries) throw damaged(path, `it holds more than ${maxEntries} entries`);
      names.add(name);
      entries.push({ name, offset: start, bytes });
      offset = start + bytes + padding(bytes).length;
    }
  } finally {
    await file.close();
  }
}

/** An entry's bytes in memory (for small entries: the manifest). */
export async function readTarEntry(path: string, entry: TarEntry): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(entry.bytes);
    await file.read(buffer, 0, entry.bytes, entry.offset);
    return buffer;
  } finally {
    await file.close();
  }
}

/** Copies an entry's bytes into a new file `target` (which must not exist); returns their sha256. */
export async function extractTarEntry(path: string, entry: TarEntry, target: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const source = entry.bytes === 0 ? [] : createReadStream(path, { start: entry.offset, end: entry.offset + entry.bytes - 1, highWaterMark: 1 << 20 });
  await pipeline(source, hashing, createWriteStream(target, { flags: 'wx' }), { signal });
  return hash.digest('hex');
}
