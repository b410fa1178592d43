/**
 * Strategies as data (scikit-learn's `get_params` / `clone`): a strategy is built from its name and
 * parameters (`{ name, params }`, those left out take their defaults), gives them back in full
 * with `getParams()`, and `cloneStrategy` makes a fresh, unfitted copy from them.
 */
import { StudioError } from '../../core/errors';
import type { StrategyChoice } from '../../../shared/contract';
import { resolveParams, strategyParamProblems, type ResolvedStrategySpec } from '../../../shared/strategies';
import { AllLayersStrategy } from './all-layers';
import { AtlStrategy } from './atl';
import { AtlTeachersStrategy } from './atl-teachers';
import { BestSingleStrategy } from './best-single';
import { Head2ToeStrategy } from './head2toe';
import { PenultimateStrategy } from './penultimate';
import { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy';

export { STRATEGY_NAMES, type Strategy, type StrategyName } from './strategy';
export type { ResolvedStrategySpec } from '../../../shared/strategies';

/** A name or a spec as the full configuration it means; unknown names, unknown parameters and bad values are refused. */
export function resolveStrategy(choice: StrategyChoice | ResolvedStrategySpec): ResolvedStrategySpec {
  const { name, params = {} } = typeof choice === 'string' ? { name: choice } : choice;
  if (!(STRATEGY_NAMES as readonly string[]).includes(name)) {
    throw new StudioError('invalid_input', `Unknown strategy ${name}; choose from ${STRATEGY_NAMES.join(', ')}`);
  }
  const problems = strategyParamProblems(name, params);
  if (problems.length > 0) throw new StudioError('invalid_input', problems.join('; '));
  return { name, params: resolveParams(name, params) };
}

export function createStrategy(choice: StrategyChoice | ResolvedStrategySpec): Strategy {
  const { name, params } = resolveStrategy(choice);
  switch (name) {
    case 'penultimate':
      return new PenultimateStrategy(params);
    case 'best-single':
      return new BestSingleStrategy(params);
    case 'atl':
      return new AtlStrategy(params);
    case 'all-layers':
      return new AllLayersStrategy(params);
    case 'head2toe':
      return new Head2ToeStrategy(params);
    case 'ncm':
      return new PenultimateStrategy({ head: 'ncm' });
    case 'ncm-atl':
      return new AtlStrategy({ ...params, head: 'ncm' });
    case 'atl-teachers':
      return new AtlTeachersStrategy(params);
  }
}

/** A fresh, unfitted strategy with the same parameters. */
export function cloneStrategy(strategy: Strategy): Strategy {
  return createStrategy({ name: strategy.name, params: strategy.getParams() });
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

/**
 * `all` (every strategy with its defaults), or strategies separated by commas, each a name or a
 * name with parameters in the syntax of `strategyLabel`: `penultimate,atl(maxSize=2,C=0.5)`.
 * Every parameter comes back, defaults filled in.
 */
export function parseStrategySpecs(text: string): ResolvedStrategySpec[] {
  if (text.trim() === 'all') return STRATEGY_NAMES.map((name) => resolveStrategy(name));
  const items = splitTopLevel(text).filter(Boolean);
  if (items.length === 0) throw new StudioError('invalid_input', `No strategy given; choose from all, ${STRATEGY_NAMES.join(', ')}`);
  return items.map(parseStrategySpec);
}

/** One strategy: `atl` or `atl(maxSize=2,C=0.5)`. */
export function parseStrategySpec(text: string): ResolvedStrategySpec {
  const match = /^([\w-]+)\s*(?:\((.*)\))?$/s.exec(text.trim());
  if (!match) throw new StudioError('invalid_input', `Cannot read strategy "${text}": write a name, or a name(key=value,…) such as atl(maxSize=2)`);
  const [, name, list] = match;
  const params: Record<string, number> = {};
  for (const pair of list?.split(',').map((p) => p.trim()).filter(Boolean) ?? []) {
    const [key, value, ...rest] = pair.split('=').map((p) => p.trim());
    const number = value === undefined || value === '' || rest.length > 0 ? NaN : Number(value);
    if (!Number.isFinite(number)) throw new StudioError('invalid_input', `${name}: ${key} needs a number, as in ${key}=2 (got "${pair}")`);
    params[key] = number;
  }
  return resolveStrategy({ name: name as StrategyName, params });
}

/** Splits at the commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(text.slice(start).trim());
  return items;
}
