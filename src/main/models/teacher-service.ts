/**
 * Teachers ready to run: opens each in the engine engine-choice.ts picks, keeps loaded
 * extractors for reuse, and keeps each teacher's editable layer inventory (which candidate
 * layers the studio uses). The application layer sees only the `TeacherService` interface, and
 * the composition root builds the one implementation, so tests can hand in their own store or
 * engine factory (`OpenEngine`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { FeatureExtractor, FeatureLayer } from '../engines/feature-extractor';
import { hasQuantizedKernels } from '../engines/exact-integers';
import type { TeacherSpec } from '../engines/teachers';
import { teacherKey } from '../features/feature-cache';
import { StudioError } from '../core/errors';
import { createExtractor } from './engine-choice';
import { LAYER_CHOICES_DIR, type LoadedTeacher, type ModelStore } from './model-store';

export { createExtractor } from './engine-choice';

export interface OpenTeacher extends LoadedTeacher {
  extractor: FeatureExtractor;
  /** The feature-cache key: teacher id + weights sha + preprocessing recipe. */
  key: string;
}

export interface InventoryLayer extends FeatureLayer {
  enabled: boolean;
}

const EnabledLayers = z.array(z.string()).min(1);

/** Opens a teacher's engine: engine-choice.ts's `createExtractor`, or what a test hands in. */
export type OpenEngine = (spec: TeacherSpec) => Promise<FeatureExtractor>;

/** The teacher registry (installed teachers and their files, `store`) and their open engines. */
export interface TeacherService {
  readonly store: ModelStore;
  /** Loads (once) and returns the teacher with a ready extractor. */
  get(id: string): Promise<OpenTeacher>;
  /** The teacher's layers, each marked enabled or not. */
  inventory(id: string): Promise<{ teacher: OpenTeacher; layers: InventoryLayer[] }>;
  /** The layers in use (the user's choice, else `defaultLayers`). */
  enabledLayers(teacher: OpenTeacher): string[];
  setEnabledLayers(id: string, names: string[]): Promise<void>;
  /** Resolves `all` (the layers in use) or a list of names to inventory layers, in depth order. */
  resolveLayers(id: string, request: 'all' | string[]): Promise<FeatureLayer[]>;
  /** Closes the teacher's engine, if open, so that its files can go or be replaced. */
  forget(id: string): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * The layers used by default: every candidate the teacher declares, except that MobileNet's
 * depthwise layers (and conv1) are left to the user: the inventory is each block's
 * pointwise output plus the penultimate.
 */
export function defaultLayers(spec: TeacherSpec): string[] {
  const pointwise = spec.featureLayers.filter((name) => /^conv_pw_\d+_relu$/.test(name));
  return pointwise.length > 0 ? [...pointwise, spec.penultimate] : [...spec.featureLayers];
}

export class StudioTeacherService implements TeacherService {
  private readonly open = new Map<string, Promise<OpenTeacher>>();

  constructor(
    readonly store: ModelStore,
    private readonly openEngine: OpenEngine = createExtractor,
  ) {}

  get(id: string): Promise<OpenTeacher> {
    let opening = this.open.get(id);
    if (!opening) {
      opening = (async () => {
        const loaded = await this.store.load(id);
        const extractor = await this.openEngine(loaded.spec);
        return { ...loaded, extractor, key: teacherKey(id, loaded.weightsSha256, loaded.spec.preprocess, await hasQuantizedKernels(loaded.spec)) };
      })();
      opening.catch(() => this.open.delete(id));
      this.open.set(id, opening);
    }
    return opening;
  }

  async inventory(id: string): Promise<{ teacher: OpenTeacher; layers: InventoryLayer[] }> {
    const teacher = await this.get(id);
    const enabled = new Set(this.enabledLayers(teacher));
    return { teacher, layers: teacher.extractor.layers.map((l) => ({ ...l, enabled: enabled.has(l.name) })) };
  }

  enabledLayers(teacher: OpenTeacher): string[] {
    const file = this.layersFile(teacher.entry.id);
    if (existsSync(file)) {
      const saved = EnabledLayers.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      const known = new Set(teacher.extractor.layers.map((l) => l.name));
      if (saved.success && saved.data.every((name) => known.has(name))) return saved.data;
    }
    return defaultLayers(teacher.spec);
  }

  async setEnabledLayers(id: string, names: string[]): Promise<void> {
    const teacher = await this.get(id);
    const known = teacher.extractor.layers.map((l) => l.name);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length > 0) throw new StudioError('invalid_input', `Teacher '${id}' has no layer ${unknown.join(', ')}`);
    if (names.length === 0) throw new StudioError('invalid_input', 'Keep at least one layer');
    // Stored in depth order, whatever order they were given in.
    const ordered = known.filter((n) => names.includes(n));
    mkdirSync(join(this.store.modelsDir, LAYER_CHOICES_DIR), { recursive: true });
    writeFileSync(this.layersFile(id), JSON.stringify(ordered, null, 2));
  }

  async resolveLayers(id: string, request: 'all' | string[]): Promise<FeatureLayer[]> {
    const teacher = await this.get(id);
    const wanted = request === 'all' ? this.enabledLayers(teacher) : request;
    const unknown = wanted.filter((n) => !teacher.extractor.layers.some((l) => l.name === n));
    if (unknown.length > 0) {
      throw new StudioError('invalid_input', `Teacher '${id}' has no layer ${unknown.join(', ')}; it has ${teacher.extractor.layers.map((l) => l.name).join(', ')}`);
    }
    return teacher.extractor.layers.filter((l) => wanted.includes(l.name));
  }

  async forget(id: string): Promise<void> {
    const opening = this.open.get(id);
    this.open.delete(id);
    await opening?.then((t) => t.extractor.dispose()).catch(() => undefined);
  }

  async dispose(): Promise<void> {
    for (const opening of this.open.values()) {
      await opening.then((t) => t.extractor.dispose()).catch(() => undefined);
    }
    this.open.clear();
  }

  private layersFile(id: string): string {
    return join(this.store.modelsDir, LAYER_CHOICES_DIR, `${id}.json`);
  }
}
