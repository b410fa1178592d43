/**
 * A folder of files that must not stop an import: each one fails for a known reason, next to
 * good images that must import.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CIFAR10_MINI } from './fixtures';

export interface BadFolder {
  root: string;
  good: string[];
  bad: Record<string, RegExp>;
}

/** A PNG whose header claims width × height, with no pixel data: a decompression bomb's shape. */
export function hugePngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function writeBadFolder(root: string): BadFolder {
  mkdirSync(join(root, 'cat'), { recursive: true });
  mkdirSync(join(root, 'dog'), { recursive: true });
  const cat = readFileSync(join(CIFAR10_MINI, 'cat', firstJpeg('cat')));
  const dog = readFileSync(join(CIFAR10_MINI, 'dog', firstJpeg('dog')));
  const good = [join(root, 'cat', 'good.jpg'), join(root, 'dog', 'good.jpg')];
  writeFileSync(good[0], cat);
  writeFileSync(good[1], dog);
  const truncated = join(root, 'cat', 'truncated.jpg');
  writeFileSync(truncated, dog.subarray(0, Math.floor(dog.length / 2)));
  const text = join(root, 'dog', 'notes.png');
  writeFileSync(text, 'these are my notes, not an image\n');
  const empty = join(root, 'dog', 'empty.jpg');
  writeFileSync(empty, Buffer.alloc(0));
  const bomb = join(root, 'cat', 'bomb.png');
  writeFileSync(bomb, hugePngHeader(30_000, 30_000));
  writeFileSync(join(root, 'README.txt'), 'not an image extension: skipped, not failed');
  return {
    root,
    good,
    bad: {
      [truncated]: /corrupt or truncated/i,
      [text]: /not an image/i,
      [empty]: /empty file/i,
      [bomb]: /30000×30000.*over the 100-megapixel limit/,
    },
  };
}

function firstJpeg(className: string): string {
  return readdirSync(join(CIFAR10_MINI, className)).sort()[0];
}
