/**
 * A project made the way a user makes one: import a folder of class folders (without labels from
 * folders), create the classes, and label the first images of each. Several integration tests
 * start from this.
 */
import type { Studio } from '../../src/main/app/studio';

/** Returns each image's true class (its folder), by image id. */
export async function importAndLabelFirst(
  studio: Studio,
  options: { project: string; images: string; classes: readonly string[]; labeledPerClass: number },
): Promise<Map<number, string>> {
  await studio.invoke('project.create', { name: options.project });
  await studio.invoke('import.start', { paths: [options.images], labelsFromFolders: false });
  await studio.idle();
  const project = studio.requireProject();
  const truth = new Map<number, string>();
  for (const c of options.classes) {
    const { id } = await studio.invoke('classes.create', { name: c });
    const rows = project.images.list({ kind: 'all' }, 'import').filter((r) => project.images.get(r.id).originalPath.includes(`/${c}/`));
    for (const r of rows) truth.set(r.id, c);
    await studio.invoke('labels.assign', { imageIds: rows.slice(0, options.labeledPerClass).map((r) => r.id), classId: id });
  }
  return truth;
}
