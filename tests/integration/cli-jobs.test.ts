/**
 * The CLI runs its use-cases as the studio runs them, as jobs of the one job runner (runJob in
 * cli/with-project.ts): Ctrl+C (SIGINT) cancels the running job, which ends with its own report.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OMNIGLOT_SMALL1, REPO, tempDir } from '../helpers/fixtures';

const run = promisify(execFile);
const CLI = join(REPO, 'bin/atl-studio.mjs');
const OMNIGLOT_IMAGES = 2720;

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('atl-cli-jobs-');
});
afterAll(() => dir.remove());

describe('atl-studio jobs', () => {
  it('cancels an import on Ctrl+C: exit code 130, the report says cancelled, and what was imported stays', async () => {
    const env = { ...process.env, ATL_STUDIO_HOME: dir.path };
    const project = join(dir.path, 'cancelled.atl');
    await run(process.execPath, [CLI, 'create', project], { env });
    const child = spawn(process.execPath, [CLI, 'import', project, OMNIGLOT_SMALL1, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const closed = new Promise<number | null>((done) => child.once('close', done));
    // Thumbnails going into the project's write-ahead log: the import is under way.
    const wal = `${project}-wal`;
    await expect.poll(() => existsSync(wal) && statSync(wal).size > 1024 * 1024, { timeout: 60_000, interval: 50 }).toBe(true);
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    const report = JSON.parse(stdout) as { status: string; found: number; imported: number };
    expect(report.status).toBe('cancelled');
    expect(report.imported).toBeGreaterThan(0);
    expect(report.imported).toBeLessThan(OMNIGLOT_IMAGES);
    const info = JSON.parse((await run(process.execPath, [CLI, 'info', project, '--json'], { env })).stdout) as { images: number };
    expect(info.images).toBe(report.imported);
  }, 120_000);
});
