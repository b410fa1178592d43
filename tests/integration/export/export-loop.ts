/**
 * Exports one head into one folder again and again, alternating with and without the runtime
 * packages, and prints a line after each: export-safety.test.ts kills it (kill -9) at random moments.
 * Usage: node --import tsx export-loop.ts <project.atl> <head id> <folder>
 */
import { createTeacherService } from '../../../src/main/app/composition-root';
import { withProject } from '../../../src/main/cli/with-project';
import { exportHead } from '../../../src/main/export/export-service';
import { openHeadTeachers } from '../../../src/main/services/prediction-service';

const [projectPath, headId, folder] = process.argv.slice(2);
const teachers = createTeacherService();
await withProject(projectPath, async (project) => {
  const head = project.heads.get(Number(headId));
  const headTeachers = await openHeadTeachers(head, teachers);
  for (let n = 1; ; n++) {
    await exportHead(head, headTeachers, 'onnx', folder, 'kill-test', { includeRuntime: n % 2 === 0 });
    console.log(`exported ${n}`);
  }
});
