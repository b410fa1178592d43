/** The tar writer and the reader that trusts nothing: GNU tar agrees with both, and hostile archives are refused with a clear error. */
import { execFileSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSafeEntryName, readTarEntry, readTarIndex, tarHeader, TarWriter } from '../../src/main/services/tar-archive';
import { tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
beforeAll(() => (dir = tempDir('atl-tar-')));
afterAll(() => dir.remove());

/** A header for `name` written as is (a hostile writer's), with a valid checksum. */
function rawHeader(name: string, bytes: number, typeflag = '0'): Buffer {
  const header = tarHeader('x', bytes, 0);
  header.fill(0, 0, 100);
  header.write(name, 0, 100, 'utf8');
  header.write(typeflag, 156, 1, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return header;
}

function archive(name: string, ...parts: Buffer[]): string {
  const path = join(dir.path, name);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

describe('tar archive', () => {
  it('writes what GNU tar lists and extracts byte for byte, long names included, and reads what GNU tar writes', async () => {
    const path = join(dir.path, 'ours.tar');
    const big = Buffer.alloc(70_000).map((_, i) => (i * 7) % 251);
    writeFileSync(join(dir.path, 'big.bin'), big);
    const long = `teachers/${'t'.repeat(120)}/weights.bin`;
    const writer = await TarWriter.create(path);
    const small = await writer.addBytes('a.txt', Buffer.from('hello\n'));
    const file = await writer.addFile(long, join(dir.path, 'big.bin'));
    await writer.finish();
    expect(small).toEqual({ name: 'a.txt', bytes: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' });
    expect(file.bytes).toBe(70_000);
    expect(execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n')).toEqual(['a.txt', long]);
    expect(execFileSync('tar', ['-xOf', path, long]).equals(big)).toBe(true);

    const index = await readTarIndex(path);
    expect(index.map((e) => [e.name, e.bytes])).toEqual([['a.txt', 6], [long, 70_000]]);
    expect((await readTarEntry(path, index[1])).equals(big)).toBe(true);

    writeFileSync(join(dir.path, 'theirs.txt'), 'from GNU tar\n');
    execFileSync('tar', ['--format=ustar', '-cf', 'theirs.tar', 'theirs.txt'], { cwd: dir.path });
    const theirs = await readTarIndex(join(dir.path, 'theirs.tar'));
    expect(theirs.map((e) => e.name)).toEqual(['theirs.txt']);
    expect((await readTarEntry(join(dir.path, 'theirs.tar'), theirs[0])).toString()).toBe('from GNU tar\n');
  });

  it('never writes over an existing file', async () => {
    writeFileSync(join(dir.path, 'taken.tar'), 'mine');
    await expect(TarWriter.create(join(dir.path, 'taken.tar'))).rejects.toThrow(/EEXIST/);
    expect(readFileSync(join(dir.path, 'taken.tar'), 'utf8')).toBe('mine');
  });

  it('accepts only relative names with no . or .. parts', () => {
    for (const name of ['project.atl', 'teachers/m/model.json', 'images/ab.png']) expect(isSafeEntryName(name)).toBe(true);
    for (const name of ['', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a\\..\\b', 'a\0b', 'dir/']) expect(isSafeEntryName(name)).toBe(false);
    expect(() => tarHeader('../escape', 1, 0)).toThrow(/Unsafe archive entry name/);
  });

  it('refuses hostile and damaged archives before anything is extracted', async () => {
    const end = Buffer.alloc(1024);
    const content = Buffer.alloc(512, 1);
    const refusal = (path: string) => readTarIndex(path);
    await expect(refusal(archive('traversal.tar', rawHeader('../../outside.txt', 512), content, end))).rejects.toThrow(/unsafe name "..\/..\/outside.txt"/);
    await expect(refusal(archive('absolute.tar', rawHeader('/tmp/outside.txt', 512), content, end))).rejects.toThrow(/unsafe name/);
    await expect(refusal(archive('huge.tar', rawHeader('big.bin', 8 ** 11 - 1), content, end))).rejects.toThrow(/declares 8589934591 bytes, past the end of the file/);
    await expect(refusal(archive('link.tar', rawHeader('link', 0, '2'), end))).rejects.toThrow(/not a plain file/);
    await expect(refusal(archive('twice.tar', rawHeader('a', 512), content, rawHeader('a', 512), content, end))).rejects.toThrow(/holds a twice/);
    const damagedHeader = rawHeader('a', 512);
    damagedHeader[10] ^= 1;
    await expect(refusal(archive('checksum.tar', damagedHeader, content, end))).rejects.toThrow(/header at byte 0 is damaged/);
    const truncated = archive('truncated.tar', rawHeader('a', 512), content, rawHeader('b', 512), content, end);
    truncateSync(truncated, 512 * 3 + 100);
    await expect(refusal(truncated)).rejects.toThrow(/past the end of the file \(truncated\)/);
    truncateSync(truncated, 512 * 2);
    await expect(refusal(truncated)).rejects.toThrow(/ends in the middle \(truncated\)/);
  });
});
