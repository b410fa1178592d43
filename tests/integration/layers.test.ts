/**
 * The layer rules in .dependency-cruiser.cjs (run by `npm run lint:layers`, the first step of `npm test`):
 * a small source tree with one wrong import per rule must fail naming that rule, allowed imports must
 * pass, and the studio's own src/ must be clean.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
const CRUISER = join(REPO, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** Runs the cruiser on `src` under `cwd` with one output type; the exit code counts the errors found. */
async function cruise(cwd: string, outputType: 'json' | 'err-long'): Promise<{ code: number; stdout: string }> {
  const args = [CRUISER, 'src', '--config', CONFIG, '--output-type', outputType];
  try {
    const { stdout } = await run(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

describe('layer rules', () => {
  const tree = tempDir('atl-layers-');
  afterAll(() => tree.remove());

  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(tree.path, path)), { recursive: true });
    writeFileSync(join(tree.path, path), text);
  };

  it('fails a wrong import, naming its rule, and lets the allowed ones pass', async () => {
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler' } }));
    write('src/shared/contract.ts', 'export const VERSION = 1;\n');
    write('src/main/core/errors.ts', "import { VERSION } from '../../shared/contract';\nexport const CODE = VERSION;\n");
    write('src/main/atl/maths.ts', "import { CODE } from '../core/errors';\nexport const maths = CODE;\n");
    write('src/main/app/use-case.ts', "import { store } from '../services/store';\nexport const useCase = store;\n");
    write('src/main/cli/main.ts', "import { useCase } from '../app/use-case';\nexport const main = useCase;\n");
    write('src/renderer/src/view.ts', "import { VERSION } from '../../shared/contract';\nexport const view = VERSION;\n");
    // One wrong import per rule:
    write('src/main/atl/reads-files.ts', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
    write('src/main/atl/decodes.ts', "import sharp from 'sharp';\nexport const decode = sharp;\n");
    write('src/main/core/uses-service.ts', "import { store } from '../services/store';\nexport const uses = store;\n");
    write('src/main/services/store.ts', "import { runCli } from '../cli/run';\nexport const store = runCli;\n");
    write('src/main/cli/run.ts', 'export const runCli = 1;\n');
    write('src/main/services/calls-app.ts', "import { useCase } from '../app/use-case';\nexport const calls = useCase;\n");
    write('src/main/app/prints.ts', "import { runCli } from '../cli/run';\nexport const prints = runCli;\n");
    write('src/renderer/src/errors-view.ts', "import { CODE } from '../../main/core/errors';\nexport const shown = CODE;\n");
    write('src/renderer/src/disk.ts', "import { readFileSync } from 'node:fs';\nexport const disk = readFileSync;\n");
    // A cycle is reported once, at the module the cruiser meets first.
    write('src/renderer/src/grid.ts', "import { labeled } from './labels';\nexport const grid = labeled;\n");
    write('src/renderer/src/labels.ts', "import { grid } from './grid';\nexport const labeled = 1;\nexport const shown = grid;\n");

    const json = await cruise(tree.path, 'json');
    const violations = (JSON.parse(json.stdout) as { summary: { violations: Violation[] } }).summary.violations;
    const found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual(
      [
        'core-imports-core-only: src/main/core/uses-service.ts → src/main/services/store.ts',
        'core-is-pure: src/main/atl/decodes.ts → sharp',
        'core-is-pure: src/main/atl/reads-files.ts → fs',
        'renderer-does-no-io: src/renderer/src/disk.ts → fs',
        'renderer-imports-shared-only: src/renderer/src/errors-view.ts → src/main/core/errors.ts',
        'renderer-no-cycles: src/renderer/src/grid.ts → src/renderer/src/labels.ts',
        'app-does-not-import-fronts: src/main/app/prints.ts → src/main/cli/run.ts',
        'services-do-not-import-app-or-fronts: src/main/services/calls-app.ts → src/main/app/use-case.ts',
        'services-do-not-import-app-or-fronts: src/main/services/store.ts → src/main/cli/run.ts',
      ].sort(),
    );
    // `npm run lint:layers` fails, and its report tells people what to do, not only which rule broke.
    const report = await cruise(tree.path, 'err-long');
    expect(report.code).toBe(9);
    expect(report.stdout).toContain('core-is-pure');
    expect(report.stdout).toContain('Move the I/O into src/main/features or src/main/services');
  }, 60_000);

  it("finds no violation in the studio's own src/", async () => {
    const report = await cruise(REPO, 'err-long');
    expect(report.stdout).toContain('no dependency violations found');
    expect(report.code).toBe(0);
  }, 60_000);
});
