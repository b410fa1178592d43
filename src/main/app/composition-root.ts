/**
 * The composition root: the one place that builds the services a front needs, once per process
 * (the Electron service host, the web server, the CLI, the bench), and hands them in. Tests build
 * their own the same way, or hand the Studio what they need.
 */
import { ModelStore } from '../models/model-store';
import { StudioTeacherService, type TeacherService } from '../models/teacher-service';
import { defaultHome, SettingsService } from '../services/settings-service';
import { JobRunner } from './job-runner';

export interface StudioServices {
  /** The studio home: settings, teachers, projects. */
  readonly home: string;
  readonly settings: SettingsService;
  /** The teacher registry (the model store) and the engines that run them. */
  readonly teachers: TeacherService;
  /** Every long job of the process. */
  readonly jobs: JobRunner;
}

/** The teachers of the studio home `home` (by default the user's, or ATL_STUDIO_HOME). */
export function createTeacherService(home: string = defaultHome()): TeacherService {
  return new StudioTeacherService(new ModelStore(home));
}

/** The services of the studio home `home` (by default the user's, or ATL_STUDIO_HOME). */
export function createServices(home: string = defaultHome()): StudioServices {
  let settings: SettingsService | undefined;
  return {
    home,
    // Read on first use: CLI commands that never need the settings do not create the studio home.
    get settings() {
      return (settings ??= new SettingsService(home));
    },
    teachers: createTeacherService(home),
    jobs: new JobRunner(),
  };
}
