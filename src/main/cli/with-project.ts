/** What the project commands share: the project and the teachers, opened for one command. */
import { resolve } from 'node:path';
import { ModelStore } from '../models/model-store';
import { TeacherService } from '../models/teacher-service';
import { Project } from '../services/project';
import { defaultHome } from '../services/settings-service';

/** Opens the project and the teachers, runs `work`, and closes both whatever happens. */
export async function withProject<T>(path: string, work: (project: Project, teachers: TeacherService) => Promise<T>): Promise<T> {
  const project = Project.open(resolve(path));
  const teachers = new TeacherService(new ModelStore(defaultHome()));
  try {
    return await work(project, teachers);
  } finally {
    project.close();
    await teachers.dispose();
  }
}
