/**
 * docs/ quotes measured numbers only through generated regions filled from the checked-in JSON
 * (bench/docs-numbers.ts): this fails when a number was typed by hand or the JSON changed without
 * `npm run docs:numbers`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOCS, docsDrift, fillRegions, loadDocsData } from '../../bench/docs-numbers';
import { signedPoints } from '../../bench/markdown';
import { tuneResult } from '../../bench/tuning';

const data = loadDocsData();
const copy = mkdtempSync(join(tmpdir(), 'atl-docs-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('docs numbers', () => {
  it('every generated region of docs/*.md, and docs/results.md, match docs/data', () => {
    expect(docsDrift(DOCS, data).map((d) => `${d.file}: ${d.regions.join('; ')}`)).toEqual([]);
  });

  it('finds a number edited by hand in a copy of docs/, by region, and in docs/results.md', () => {
    cpSync(DOCS, copy, { recursive: true });
    const atl = join(copy, 'atl.md');
    const region = /(<!-- generated:tune-delta [^>]*-->)([^<]*)(<!-- \/generated -->)/;
    const original = readFileSync(atl, 'utf8');
    expect(original).toMatch(region);
    writeFileSync(atl, original.replace(region, '$1+99.9$3'));
    const results = join(copy, 'results.md');
    writeFileSync(results, readFileSync(results, 'utf8').replace(/\d+\.\d ± \d+\.\d/, '12.3 ± 4.5'));
    const drift = docsDrift(copy, data);
    expect(drift.map((d) => d.file).sort()).toEqual([atl, results]);
    expect(drift.find((d) => d.file === atl)!.regions).toEqual([original.match(region)![1].replace(/^<!-- generated:| -->$/g, '')]);
    expect(drift.find((d) => d.file === atl)!.expected).toBe(original);
  });

  it('fills inline and block regions from the JSON', () => {
    const text = [
      'Δ <!-- generated:tune-delta atl default 5 resnet56_cifar10 omniglot-small1 -->+0.0<!-- /generated --> points.',
      '<!-- generated:tune-table atl 1 default -->',
      'stale',
      '<!-- /generated -->',
    ].join('\n');
    const { text: filled, regions } = fillRegions(text, data);
    const delta = signedPoints(tuneResult(data.tune.atl, 'default', 5, 'resnet56_cifar10', 'omniglot-small1').delta_vs_penultimate);
    expect(filled.split('\n')[0]).toBe(`Δ <!-- generated:tune-delta atl default 5 resnet56_cifar10 omniglot-small1 -->${delta}<!-- /generated --> points.`);
    expect(filled).not.toContain('stale');
    expect(filled).toMatch(/<!-- generated:tune-table atl 1 default -->\n\| variant \|[^]*\n<!-- \/generated -->$/);
    expect(regions).toEqual(['tune-delta atl default 5 resnet56_cifar10 omniglot-small1', 'tune-table atl 1 default']);
  });

  it('refuses an unknown region and a number the JSON does not hold, naming the region', () => {
    expect(() => fillRegions('<!-- generated:typed-by-hand -->1<!-- /generated -->', data)).toThrow(/unknown generated region "typed-by-hand"/);
    expect(() => fillRegions('<!-- generated:tune-delta atl default 5 resnet56_cifar10 no-such-set -->1<!-- /generated -->', data)).toThrow(
      /generated:tune-delta atl default 5 resnet56_cifar10 no-such-set: .*no default at 5-shot/,
    );
  });
});
