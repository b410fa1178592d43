/**
 * The choices behind `head2toe`'s defaults (docs/atl.md, "The other strategies"), rerun: the kept
 * fraction, the group-lasso penalty α and its iterations, one at a time around the defaults, on
 * development episodes (seed 1001) of the DEVELOPMENT data sets only, with both teachers.
 *   npm run bench:tune-head2toe [-- --episodes N]   writes docs/data/tune-head2toe.json (default 60 episodes: head2toe is slow)
 *   npm run bench:tune-head2toe -- --quick          ResNet-56 on cifar10-mini, 20 episodes; bench-results/tune-head2toe-quick.json
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createStrategy } from '../src/main/atl/strategies';
import { defaultParams } from '../src/shared/strategies';
import { tune, type Variant } from './tuning';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, episodes: { type: 'string', default: '60' } } });

const { keepFraction, alpha, lassoMaxIterations } = defaultParams('head2toe');
const both = [1, 5];
const variants: Variant[] = [
  { id: 'default', about: `shipped: keepFraction ${keepFraction}, α ${alpha}, ${lassoMaxIterations} iterations`, params: {}, shots: both },
  ...[0.005, 0.02, 0.05].map((f) => ({ id: `keep-${f}`, about: `keepFraction ${f}`, params: { keepFraction: f }, shots: both })),
  ...[0.05, 0.2].map((a) => ({ id: `alpha-${a}`, about: `α ${a}`, params: { alpha: a }, shots: both })),
  ...[50, 300].map((n) => ({ id: `iterations-${n}`, about: `${n} group-lasso iterations (lassoMaxIterations)`, params: { lassoMaxIterations: n }, shots: both })),
];

await tune({
  script: 'bench/tune-head2toe.ts',
  strategy: 'head2toe',
  defaults: { keepFraction, alpha, lassoMaxIterations },
  variants,
  build: (params) => createStrategy({ name: 'head2toe', params }),
  quick: args.quick!,
  episodes: Number(args.episodes),
  out: resolve(ROOT, args.quick ? 'bench-results/tune-head2toe-quick.json' : 'docs/data/tune-head2toe.json'),
});
