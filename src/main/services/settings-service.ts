/**
 * The studio's own small state, outside any project: recent projects, the last one open, the
 * theme. One JSON file in the studio's home folder (ATL_STUDIO_HOME, default ~/.atl-studio),
 * written atomically (temp file + rename) so a crash never leaves half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EnginePreference, Theme, type RecentProject } from '../../shared/contract';

const MAX_RECENT = 12;

const Settings = z.object({
  recent: z.array(z.object({ path: z.string(), name: z.string(), openedAt: z.string() })).default([]),
  lastProject: z.string().nullable().default(null),
  theme: Theme.default('dark'),
  demoOffered: z.boolean().default(false),
  engine: EnginePreference.default('auto'),
});
type Settings = z.infer<typeof Settings>;

export function defaultHome(): string {
  return process.env.ATL_STUDIO_HOME || join(homedir(), '.atl-studio');
}

export class SettingsService {
  private settings: Settings;
  private readonly file: string;

  constructor(readonly home: string) {
    mkdirSync(home, { recursive: true });
    this.file = join(home, 'settings.json');
    this.settings = this.load();
  }

  get projectsDir(): string {
    const dir = join(this.home, 'projects');
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  get theme(): Theme {
    return this.settings.theme;
  }

  get lastProject(): string | null {
    return this.settings.lastProject;
  }

  /** The engine teachers open on (the Models view's setting). */
  get engine(): EnginePreference {
    return this.settings.engine;
  }

  get demoOffered(): boolean {
    return this.settings.demoOffered;
  }

  recent(): RecentProject[] {
    return this.settings.recent.map((r) => ({ ...r, exists: existsSync(r.path) }));
  }

  update(change: Partial<Settings>): void {
    this.settings = { ...this.settings, ...change };
    this.save();
  }

  rememberOpened(path: string, name: string): void {
    const recent = [{ path, name, openedAt: new Date().toISOString() }, ...this.settings.recent.filter((r) => r.path !== path)];
    this.update({ recent: recent.slice(0, MAX_RECENT), lastProject: path });
  }

  forget(path: string): void {
    this.update({
      recent: this.settings.recent.filter((r) => r.path !== path),
      lastProject: this.settings.lastProject === path ? null : this.settings.lastProject,
    });
  }

  private load(): Settings {
    if (!existsSync(this.file)) return Settings.parse({});
    try {
      return Settings.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch {
      // A damaged settings file costs the recent list, never a project: start clean.
      return Settings.parse({});
    }
  }

  private save(): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(this.settings, null, 2));
    renameSync(temp, this.file);
  }
}
