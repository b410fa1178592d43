/** Every strategy by name, with its default hyper-parameters. */
import { StudioError } from '../../core/errors';
import { AllLayersStrategy } from './all-layers';
import { AtlStrategy } from './atl';
import { BestSingleStrategy } from './best-single';
import { Head2ToeStrategy } from './head2toe';
import { PenultimateStrategy } from './penultimate';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy';

export { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy';

export function createStrategy(name: StrategyName): Strategy {
  switch (name) {
    case 'penultimate':
      return new PenultimateStrategy();
    case 'best-single':
      return new BestSingleStrategy();
    case 'atl':
      return new AtlStrategy();
    case 'all-layers':
      return new AllLayersStrategy();
    case 'head2toe':
      return new Head2ToeStrategy();
    case 'ncm':
      return new PenultimateStrategy({ head: 'ncm' });
    case 'ncm-atl':
      return new AtlStrategy({ head: 'ncm' });
  }
}

/** `all`, or names separated by commas. */
export function parseStrategyNames(spec: string): StrategyName[] {
  if (spec.trim() === 'all') return [...STRATEGY_NAMES];
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(STRATEGY_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new StudioError('invalid_input', `Unknown strategy ${unknown.join(', ') || '(none given)'}; choose from all, ${STRATEGY_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as StrategyName[];
}
