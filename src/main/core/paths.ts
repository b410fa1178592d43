/** Path arithmetic shared by every place that confines files to a folder (no file system access here). */
import { isAbsolute, relative, sep } from 'node:path';

/** Whether `path` is `folder` or lies inside it (both absolute and already resolved). */
export function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
