/**
 * Several processes on one project: a job another process runs (an import from the CLI, a
 * comparison in another studio) stays 'running' when this process opens the project, and cannot
 * be deleted from here; once its process is gone (killed), opening the project marks it stopped.
 */
import Database from 'better-sqlite3';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobLeases } from '../../src/main/services/job-leases';
import { Project } from '../../src/main/services/project';
import { Studio } from '../../src/main/app/studio';
import { CIFAR10_MINI, copyCifarClasses, REPO, tempDir } from '../helpers/fixtures';

const CLI = join(REPO, 'bin/atl-studio.mjs');
let dir: ReturnType<typeof tempDir>;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = tempDir();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(() => dir.remove());

function cli(...args: string[]): Promise<{ stdout: string }> {
  return promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') } });
}

/** Polls the project file read-only (as a bystander: no marking) until `ready` holds. */
async function waitFor(path: string, ready: (db: Database.Database) => boolean, child: ChildProcess): Promise<void> {
  const db = new Database(path, { readonly: true });
  try {
    for (let i = 0; i < 1200; i++) {
      if (child.exitCode !== null) throw new Error(`the child process ended early (exit ${child.exitCode})`);
      if (ready(db)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the child process never started its job');
  } finally {
    db.close();
  }
}

async function killHard(child: ChildProcess): Promise<void> {
  expect(child.exitCode).toBeNull(); // still running: the checks above saw a live job
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

/** Many big, cheap-to-store PNGs (16 megapixels of one colour, distinct bytes): decoding them keeps an import busy. */
async function writeSlowFolder(folder: string, count: number): Promise<void> {
  mkdirSync(folder, { recursive: true });
  const png = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#336699' } }).png({ compressionLevel: 9 }).toBuffer();
  for (let i = 0; i < count; i++) writeFileSync(join(folder, `${String(i).padStart(4, '0')}.png`), Buffer.concat([png, Buffer.from(`#${i}`)]));
}

describe('a job another process runs', () => {
  it('an import from the CLI stays running while this process and `atl-studio info` open the project; killed, it reads as interrupted', async () => {
    const path = join(dir.path, 'import.atl');
    Project.create(path).close();
    const folder = join(dir.path, 'slow');
    await writeSlowFolder(folder, 800);
    const child = spawn(process.execPath, [CLI, 'import', path, folder], { stdio: 'ignore' });
    children.push(child);
    await waitFor(path, (db) => db.prepare("SELECT 1 FROM imports WHERE status = 'running'").get() !== undefined, child);

    const here = Project.open(path);
    expect(here.imports.reports()[0].status).toBe('running');
    here.close();
    await cli('info', path);
    const again = Project.open(path);
    expect(again.imports.reports()[0].status).toBe('running');
    again.close();

    await killHard(child);
    const after = Project.open(path); // same host, owner pid gone: no need to wait for the lease to go stale
    try {
      expect(after.imports.reports()[0]).toMatchObject({ status: 'interrupted', finishedAt: expect.any(String) });
    } finally {
      after.close();
    }
  }, 180_000);

  it('a comparison in another studio stays running, cannot be deleted from here, and reads as failed once its process is killed', async () => {
    const path = join(dir.path, 'compare.atl');
    const images = join(dir.path, 'cifar');
    copyCifarClasses(images, ['airplane', 'automobile', 'bird', 'cat', 'ship'], 8);
    const project = Project.create(path);
    await project.imports.run({ roots: [images], labelsFromFolders: true });
    project.close();

    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'tests/helpers/comparison-child.ts'), join(dir.path, 'home'), path, 'resnet20_cifar10'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const runId = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (line: Buffer) => resolve((JSON.parse(line.toString()) as { runId: number }).runId));
      child.once('exit', (code) => reject(new Error(`the child process ended early (exit ${code})`)));
    });

    const here = Project.open(path);
    try {
      expect(here.comparisons.get(runId).status).toBe('running');
      expect(() => here.comparisons.delete(runId)).toThrow(/still running in another window or process/);
    } finally {
      here.close();
    }
    await cli('info', path);
    const again = Project.open(path);
    expect(again.comparisons.get(runId).status).toBe('running');
    again.close();
    // Nor can its project file be deleted from another studio, open there or not.
    const studio = new Studio({ home: join(dir.path, 'other-home'), front: 'web' });
    try {
      await expect(studio.invoke('project.delete', { path, confirm: true })).rejects.toThrow(/in use: another window or process is running a job in it/);
      await studio.invoke('project.open', { path });
      await expect(studio.invoke('project.delete', { path, confirm: true })).rejects.toThrow(/in use/);
      expect(studio.project?.path).toBe(path);
    } finally {
      await studio.dispose();
    }
    expect(existsSync(path)).toBe(true);

    await killHard(child);
    const after = Project.open(path);
    try {
      expect(after.comparisons.get(runId)).toMatchObject({ status: 'failed', message: expect.stringMatching(/Interrupted/) });
      after.comparisons.delete(runId);
      expect(after.comparisons.list()).toEqual([]);
    } finally {
      after.close();
    }
  }, 180_000);
});

describe('job leases', () => {
  it('are refreshed by a heartbeat while held and removed when released', async () => {
    const project = Project.create(join(dir.path, 'heartbeat.atl'));
    const db = new Database(project.path);
    const leases = new JobLeases(db, { heartbeatMs: 20, staleMs: 1000 });
    try {
      leases.hold('import', 7);
      const heartbeat = () => (db.prepare('SELECT heartbeat_at AS at FROM job_leases WHERE ref_id = 7').get() as { at: number } | undefined)?.at;
      const first = heartbeat()!;
      await new Promise((r) => setTimeout(r, 150));
      expect(heartbeat()).toBeGreaterThan(first);
      leases.release('import', 7);
      expect(heartbeat()).toBeUndefined();
    } finally {
      leases.releaseAll();
      db.close();
      project.close();
    }
  });

  it("of a process on another machine count until their heartbeat is older than the stale time", async () => {
    const path = join(dir.path, 'elsewhere.atl');
    const project = Project.create(path);
    const { id } = await project.imports.run({ roots: [join(CIFAR10_MINI, 'cat', '0000.jpg')], labelsFromFolders: false });
    project.close();
    // As another machine sharing the file would leave it: running, its lease last refreshed just now.
    const db = new Database(path);
    db.prepare("UPDATE imports SET status = 'running', finished_at = NULL WHERE id = ?").run(id);
    db.prepare('INSERT INTO job_leases (kind, ref_id, owner, pid, hostname, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      'import', id, 'another-studio', process.pid, `not-${hostname()}`, Date.now(),
    );
    db.close();
    const fresh = Project.open(path, { leaseStaleMs: 400 });
    expect(fresh.imports.reports()[0].status).toBe('running');
    fresh.close();
    await new Promise((r) => setTimeout(r, 500));
    const stale = Project.open(path, { leaseStaleMs: 400 });
    expect(stale.imports.reports()[0].status).toBe('interrupted');
    stale.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) AS n FROM job_leases').get()).toEqual({ n: 0 });
    check.close();
  });
});
