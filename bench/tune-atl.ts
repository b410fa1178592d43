/**
 * The tuning of `atl`'s hyper-parameters (docs/atl.md), rerun: each chosen value against its
 * neighbours, one parameter at a time around the defaults, on development episodes (seed 1001) of
 * the DEVELOPMENT data sets only, with both teachers.
 *   npm run bench:tune [-- --episodes N]   the grid, 100 episodes per shot count; writes docs/data/tune-atl.json
 *   npm run bench:tune -- --quick      a small check: ResNet-56 on cifar10-mini, 20 episodes; bench-results/tune-atl-quick.json
 * Then `npm run docs:numbers` puts the tables into docs/atl.md.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createStrategy } from '../src/main/atl/strategies';
import { defaultParams } from '../src/shared/strategies';
import { tune, type Variant } from './tuning';

const ROOT = resolve(import.meta.dirname, '..');
/** A count no teacher's candidates reach: the rule never fires. */
const NEVER = 1e9;

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, episodes: { type: 'string', default: '100' } } });

const oneShot: Variant[] = [1, 2, 3, 5, 6, NEVER].map((n) => ({
  id: `one-shot-min-${n === NEVER ? 'never' : n}`,
  about: n === NEVER ? 'never leave the penultimate (oneShotMinLayers = ∞)' : `spread set when ≥ ${n} (oneShotMinLayers = ${n})`,
  params: { oneShotMinLayers: n },
  shots: [1],
}));

const fiveShot: Variant[] = [
  { id: 'no-guard', about: 'no guard (foreignMinLayers = 0: always skipped)', params: { foreignMinLayers: 0 }, shots: [5] },
  ...[0.01, 0.05, 0.2, 0.5].map((level) => ({
    id: `guard-only-level-${level}`,
    about: `guard at level ${level}, no domain check (foreignMinLayers = ∞)`,
    params: { guardLevel: level, foreignMinLayers: NEVER },
    shots: [5],
  })),
  ...[0.01, 0.2, 0.5].map((level) => ({ id: `guard-level-${level}`, about: `guard at level ${level} (guardLevel)`, params: { guardLevel: level }, shots: [5] })),
  ...[3, 5, 6].map((n) => ({ id: `foreign-min-${n}`, about: `domain check skips the guard when ≥ ${n} (foreignMinLayers)`, params: { foreignMinLayers: n }, shots: [5] })),
  ...[4, 16].map((n) => ({ id: `max-size-${n}`, about: `≤ ${n} candidates (maxSize)`, params: { maxSize: n }, shots: [5] })),
  { id: 'epsilon-0.02', about: 'ε = 0.02 (epsilon)', params: { epsilon: 0.02 }, shots: [5] },
];

const { epsilon, maxSize, guardLevel, oneShotMinLayers, foreignMinLayers } = defaultParams('atl');
await tune({
  script: 'bench/tune-atl.ts',
  strategy: 'atl',
  defaults: { epsilon, maxSize, guardLevel, oneShotMinLayers, foreignMinLayers },
  variants: [
    {
      id: 'default',
      about: `shipped: oneShotMinLayers ${oneShotMinLayers}, guardLevel ${guardLevel}, foreignMinLayers ${foreignMinLayers}, maxSize ${maxSize}, ε ${epsilon}`,
      params: {},
      shots: [1, 5],
    },
    ...oneShot,
    ...fiveShot,
  ],
  build: (params) => createStrategy({ name: 'atl', params }),
  quick: args.quick!,
  episodes: Number(args.episodes),
  out: resolve(ROOT, args.quick ? 'bench-results/tune-atl-quick.json' : 'docs/data/tune-atl.json'),
});
