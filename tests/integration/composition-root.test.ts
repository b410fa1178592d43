/**
 * The composition root builds a process's services once and the Studio takes them: the handlers'
 * jobs run on the runner handed in (the one the CLI would print), and nothing touches the studio
 * home before something needs it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobProgress } from '../../src/shared/contract';
import { createServices, type StudioServices } from '../../src/main/app/composition-root';
import type { TeacherSpec } from '../../src/main/engines/teachers';
import { createExtractor } from '../../src/main/models/engine-choice';
import { ModelStore } from '../../src/main/models/model-store';
import { StudioTeacherService } from '../../src/main/models/teacher-service';
import { Studio } from '../../src/main/app/studio';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let services: StudioServices;
let studio: Studio;

beforeAll(() => {
  dir = tempDir('atl-composition-');
  services = createServices(join(dir.path, 'home'));
  studio = new Studio({ front: 'web', services });
});
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('composition root', () => {
  it('creates the studio home only when the settings are first read', () => {
    const home = join(dir.path, 'cli-home');
    const cli = createServices(home);
    expect(existsSync(home)).toBe(false);
    expect(cli.settings.home).toBe(home);
    expect(existsSync(home)).toBe(true);
  });

  it('hands the Studio its services: the jobs it starts run on the runner handed in, and images come through the contract', async () => {
    expect(studio.settings).toBe(services.settings);
    expect(studio.teachers).toBe(services.teachers);
    const seen: JobProgress[] = [];
    const stop = services.jobs.onEvent((event) => event.type === 'job.progress' && seen.push(event.job));
    await studio.invoke('project.create', { name: 'composed', path: join(dir.path, 'composed.atl') });
    const { jobId } = await studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'cat')], labelsFromFolders: false });
    await services.jobs.idle();
    stop();
    expect(seen.at(-1)).toMatchObject({ jobId, kind: 'import', state: 'done', done: 50, total: 50 });

    const [first] = await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' });
    expect(await studio.media('thumb', String(first.id))).toMatchObject({ ok: true, contentType: 'image/webp' });
    expect(await studio.media('image', 0)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await studio.media('image', 999_999)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('takes the teachers handed in: the Studio opens their engines with the factory a test gives', async () => {
    const opened: string[] = [];
    const openEngine = (spec: TeacherSpec) => {
      opened.push(spec.modelPath);
      return createExtractor(spec);
    };
    const teachers = new StudioTeacherService(new ModelStore(join(dir.path, 'home')), openEngine);
    const handed = new Studio({ front: 'web', services: { ...createServices(join(dir.path, 'home')), teachers } });
    try {
      const detail = await handed.invoke('models.inspect', { id: 'resnet20_cifar10' });
      expect(detail.layers.map((l) => l.name)).toContain('pooled');
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatch(/resnet20_cifar10/);
    } finally {
      await handed.dispose();
    }
  });
});

