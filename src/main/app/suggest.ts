/** Use-case: the unlabeled images whose labels would teach the most, best first (the Label-next panel, `atl-studio suggest`). */
import type { Suggestion } from '../../shared/contract';
import type { TeacherService } from '../models/teacher-service';
import type { Project } from '../services/project';

export function suggestNext(project: Project, teachers: TeacherService, count: number): Promise<Suggestion[]> {
  return project.predictions.suggest(project, teachers, count);
}
