/** What the project commands share: the project and the teachers, opened for one command. */
import { resolve } from 'node:path';
import type { TeacherService } from '../models/teacher-service';
import { createTeacherService } from '../app/composition-root';
import { Project } from '../services/project';

/** Opens the project and the teachers, runs `work`, and closes both whatever happens. */
export async function withProject<T>(path: string, work: (project: Project, teachers: TeacherService) => Promise<T>): Promise<T> {
  const project = Project.open(resolve(path));
  const teachers = createTeacherService();
  try {
    return await work(project, teachers);
  } finally {
    project.close();
    await teachers.dispose();
  }
}
