/** The demo project offered on the first launch: generated shapes, a few of them labeled. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_SHAPES, writeDemoImages } from '../services/demo-images';
import { Project, PROJECT_EXTENSION, safeFileName } from '../services/project';
import type { SettingsService } from '../services/settings-service';

const DEMO_NAME = 'Demo - shapes';

/** Opens the demo project in the projects folder, creating it (images, classes, labels) the first time. */
export async function openDemoProject(settings: SettingsService): Promise<Project> {
  const path = join(settings.projectsDir, `${safeFileName(DEMO_NAME)}${PROJECT_EXTENSION}`);
  if (existsSync(path)) return Project.open(path);
  const shapes = await writeDemoImages(join(settings.home, 'demo-images'), 24);
  const project = Project.create(path, DEMO_NAME);
  try {
    await project.imports.run({ roots: [join(settings.home, 'demo-images')], labelsFromFolders: false });
    const classIds = new Map(DEMO_SHAPES.map((shape) => [shape, project.classes.create(shape).id]));
    // Three labeled examples per class, so the studio shows a few-shot task at once.
    const labeledPerShape = new Map<string, number>();
    for (const image of project.images.list({ kind: 'all' }, 'import')) {
      const shape = shapes.get(project.images.get(image.id).originalPath);
      if (!shape || (labeledPerShape.get(shape) ?? 0) >= 3) continue;
      labeledPerShape.set(shape, (labeledPerShape.get(shape) ?? 0) + 1);
      project.labels.labelFromImport(image.id, classIds.get(shape)!);
    }
  } catch (error) {
    project.close();
    rmSync(path, { force: true });
    throw error;
  }
  return project;
}
