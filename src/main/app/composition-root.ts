/**
 * The one place that builds the teacher services (the model store and the engines behind it).
 * Every front calls it: the studio (Electron and web), the CLI and the bench.
 */
import { ModelStore } from '../models/model-store';
import { TeacherService } from '../models/teacher-service';
import { defaultHome } from '../services/settings-service';

/** The teachers of the studio home `home` (by default the user's, or ATL_STUDIO_HOME). */
export function createTeacherService(home: string = defaultHome()): TeacherService {
  return new TeacherService(new ModelStore(home));
}
