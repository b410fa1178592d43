/**
 * The demo project's images, drawn here (no bundled files, nothing to license): four shape
 * classes with random size, position, rotation, colors and noise, deterministic for a seed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { seededRandom } from '../../shared/seeded-random';

export const DEMO_SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type DemoShape = (typeof DEMO_SHAPES)[number];

function shapeSvg(shape: DemoShape, random: () => number, size: number): string {
  const hue = Math.floor(random() * 360);
  const background = `hsl(${(hue + 150 + random() * 60) % 360}, 25%, ${20 + random() * 60}%)`;
  const fill = `hsl(${hue}, ${50 + random() * 40}%, ${35 + random() * 40}%)`;
  const r = size * (0.18 + random() * 0.17);
  const cx = r + random() * (size - 2 * r);
  const cy = r + random() * (size - 2 * r);
  const angle = random() * 360;
  let body: string;
  if (shape === 'circle') {
    body = `<circle cx="0" cy="0" r="${r}"/>`;
  } else if (shape === 'square') {
    body = `<rect x="${-r * 0.85}" y="${-r * 0.85}" width="${r * 1.7}" height="${r * 1.7}"/>`;
  } else {
    const points = shape === 'triangle' ? 3 : 10;
    const vertices = Array.from({ length: points }, (_, i) => {
      const radius = shape === 'star' && i % 2 === 1 ? r * 0.45 : r;
      const theta = (i / points) * 2 * Math.PI - Math.PI / 2;
      return `${(radius * Math.cos(theta)).toFixed(1)},${(radius * Math.sin(theta)).toFixed(1)}`;
    });
    body = `<polygon points="${vertices.join(' ')}"/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="100%" height="100%" fill="${background}"/>
    <g transform="translate(${cx.toFixed(1)} ${cy.toFixed(1)}) rotate(${angle.toFixed(0)})" fill="${fill}">${body}</g>
  </svg>`;
}

/** Writes `perShape` PNGs per shape into `folder` (flat, neutral names); returns file → shape. */
export async function writeDemoImages(folder: string, perShape: number, seed = 7): Promise<Map<string, DemoShape>> {
  await mkdir(folder, { recursive: true });
  const random = seededRandom(seed);
  const shapes = new Map<string, DemoShape>();
  const order = DEMO_SHAPES.flatMap((shape) => Array.from({ length: perShape }, () => shape));
  // Shuffle so that the grid does not come sorted by class.
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (const [index, shape] of order.entries()) {
    const path = join(folder, `sample-${String(index + 1).padStart(3, '0')}.png`);
    const png = await sharp(Buffer.from(shapeSvg(shape, random, 160)))
      .blur(0.3 + random())
      .png()
      .toBuffer();
    await writeFile(path, png);
    shapes.set(path, shape);
  }
  return shapes;
}
