/**
 * The project file's schema history. Migration N brings a project from user_version N - 1 to N
 * (see `migrate` in project-db.ts, which runs each in its own transaction).
 *
 * NEVER EDIT A RELEASED MIGRATION: a project made with it would keep the old schema while new
 * projects get the edited one, and nothing would upgrade the old files. To change the schema,
 * add a new migration at the end. tests/unit/migrations.test.ts holds the sha256 of every
 * released migration's SQL and fails if one changes.
 */

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  // 1: images, classes, labels with undo history, import reports.
  {
    version: 1,
    sql: `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    roots TEXT NOT NULL,                -- JSON array of the paths the user gave
    labels_from_folders INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running','completed','cancelled','interrupted','failed')),
    found INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE import_failures (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    reason TEXT NOT NULL
  );

  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,         -- of the file's bytes: the identity of an image everywhere
    original_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    width INTEGER NOT NULL,              -- after EXIF orientation
    height INTEGER NOT NULL,
    format TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL,
    thumbnail BLOB NOT NULL              -- WebP, longest side 256 px
  );
  CREATE INDEX images_file_name ON images(file_name);

  CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL,
    hotkey INTEGER UNIQUE CHECK (hotkey BETWEEN 1 AND 9),
    sort_order INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE labels (
    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'human' CHECK (source IN ('human','prediction')),
    updated_at TEXT NOT NULL
  );
  CREATE INDEX labels_class ON labels(class_id);

  -- Undo history: one action per user gesture, with the before/after of every image it touched.
  -- Undone actions stay until a new action replaces them (that is what redo replays).
  CREATE TABLE label_actions (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE label_changes (
    action_id INTEGER NOT NULL REFERENCES label_actions(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    old_class_id INTEGER,
    old_source TEXT,
    new_class_id INTEGER,
    PRIMARY KEY (action_id, image_id)
  );
  `,
  },
  // 2: the feature cache (pooled features per image × teacher × layer × pooling); also a standalone cache file's.
  {
    version: 2,
    sql: `
  CREATE TABLE IF NOT EXISTS feature_cache (
    image_sha256 TEXT NOT NULL,
    teacher_key TEXT NOT NULL,
    layer TEXT NOT NULL,
    pooling TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,               -- float32, little-endian
    PRIMARY KEY (image_sha256, teacher_key, layer, pooling)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS feature_failures (
    image_sha256 TEXT NOT NULL,
    teacher_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (image_sha256, teacher_key)
  ) WITHOUT ROWID;
`,
  },
  // 3: strategy comparisons (runs and their results) and trained heads.
  {
    version: 3,
    sql: `
  CREATE TABLE comparison_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running','completed','cancelled','failed')),
    config TEXT NOT NULL,               -- JSON ComparisonConfig
    teacher_name TEXT NOT NULL,
    teacher_key TEXT NOT NULL,
    message TEXT,
    classes TEXT,                       -- JSON [{id,name,color}]: the confusion matrices' order
    timings TEXT                        -- JSON {featuresSeconds, strategiesSeconds, totalSeconds}
  );
  CREATE TABLE comparison_cells (
    run_id INTEGER NOT NULL REFERENCES comparison_runs(id) ON DELETE CASCADE,
    strategy TEXT NOT NULL,
    shots INTEGER NOT NULL,
    ways INTEGER NOT NULL,
    queries INTEGER NOT NULL,
    repeats INTEGER NOT NULL,
    mean REAL NOT NULL,
    ci95 REAL NOT NULL,
    delta REAL NOT NULL,
    delta_ci95 REAL NOT NULL,
    winner INTEGER NOT NULL,
    fit_seconds REAL NOT NULL,
    layers_chosen TEXT NOT NULL,        -- JSON {candidate: fraction}
    confusion TEXT NOT NULL,            -- JSON counts[true][predicted] in the run's class order
    PRIMARY KEY (run_id, shots, strategy)
  );
  CREATE TABLE comparison_episodes (
    run_id INTEGER NOT NULL REFERENCES comparison_runs(id) ON DELETE CASCADE,
    strategy TEXT NOT NULL,
    shots INTEGER NOT NULL,
    episode INTEGER NOT NULL,
    accuracy REAL NOT NULL,
    PRIMARY KEY (run_id, shots, strategy, episode)
  );
  CREATE TABLE comparison_mistakes (
    run_id INTEGER NOT NULL REFERENCES comparison_runs(id) ON DELETE CASCADE,
    strategy TEXT NOT NULL,
    shots INTEGER NOT NULL,
    image_id INTEGER NOT NULL,          -- no foreign key: a deleted image leaves the run as it was
    true_class_id INTEGER NOT NULL,
    predicted_class_id INTEGER NOT NULL,
    count INTEGER NOT NULL
  );
  CREATE INDEX comparison_mistakes_run ON comparison_mistakes(run_id);
  CREATE TABLE comparison_profile (
    run_id INTEGER NOT NULL REFERENCES comparison_runs(id) ON DELETE CASCADE,
    candidate TEXT NOT NULL,
    layer TEXT NOT NULL,
    pooling TEXT NOT NULL,
    depth INTEGER NOT NULL,
    shots INTEGER NOT NULL,
    mean REAL NOT NULL,
    ci95 REAL NOT NULL,
    PRIMARY KEY (run_id, shots, candidate)
  );

  CREATE TABLE heads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: predictions and the active head name heads by id
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    strategy TEXT NOT NULL,
    model_id TEXT NOT NULL,
    teacher_name TEXT NOT NULL,
    teacher_sha256 TEXT NOT NULL,       -- of the weights: a head is only valid on these
    teacher_key TEXT NOT NULL,          -- the feature-cache key (weights + preprocessing)
    classes TEXT NOT NULL,              -- JSON [{id,name,labels}]: output index → class
    candidates TEXT NOT NULL,           -- JSON Candidate[] in concatenation order
    weighting TEXT NOT NULL,
    means BLOB NOT NULL,                -- float64, the blocks' means concatenated
    kept BLOB,                          -- int32 kept columns (head2toe), or NULL for all
    coef BLOB NOT NULL,                 -- float64 classes × features
    intercept BLOB NOT NULL,            -- float64 classes
    cv_accuracy REAL,
    cv_ci95 REAL,
    cv_splits INTEGER NOT NULL,
    cv_confusion TEXT                   -- JSON counts[true][predicted] over the splits' held-out images, head class order
  );
`,
  },
  // 4: predictions of trained heads; accepted predictions in the undo history.
  {
    version: 4,
    sql: `
  CREATE TABLE predictions (
    head_id INTEGER NOT NULL REFERENCES heads(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL,          -- the most probable class
    confidence REAL NOT NULL,           -- its probability
    probabilities BLOB NOT NULL,        -- float32, one per head class (the head's class order)
    PRIMARY KEY (head_id, image_id)
  );
  CREATE INDEX predictions_image ON predictions(image_id);
  -- Redo must know whether a change was a person's label or an accepted prediction.
  ALTER TABLE label_changes ADD COLUMN new_source TEXT;
`,
  },
  // 5: which process runs each running import or comparison (see job-leases.ts).
  {
    version: 5,
    sql: `
  CREATE TABLE job_leases (
    kind TEXT NOT NULL CHECK (kind IN ('import','comparison')),
    ref_id INTEGER NOT NULL,             -- imports.id or comparison_runs.id
    owner TEXT NOT NULL,                 -- a random id of the owning process
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL,       -- ms since the epoch, refreshed while the job runs
    PRIMARY KEY (kind, ref_id)
  );
  `,
  },
  // 6: the labels a head was trained on, to tell when it is stale.
  {
    version: 6,
    sql: `ALTER TABLE heads ADD COLUMN labels_fingerprint TEXT;`,
  },
  // 7: strategies as data: the full configuration and the studio version of every head and comparison run.
  {
    version: 7,
    sql: `
  ALTER TABLE heads ADD COLUMN params TEXT;                 -- JSON {parameter: value}, every one; NULL: trained before, its defaults
  ALTER TABLE heads ADD COLUMN studio_version TEXT;         -- NULL: trained before it was stored
  ALTER TABLE comparison_runs ADD COLUMN strategies TEXT;   -- JSON [{name, params}] with every parameter; NULL: the config's names, defaults
  ALTER TABLE comparison_runs ADD COLUMN studio_version TEXT;
`,
  },
  // 8: comparisons and heads over several teachers.
  {
    version: 8,
    sql: `
  ALTER TABLE comparison_runs ADD COLUMN teachers TEXT;  -- JSON [{id, name, key}] of every teacher compared, the baseline first; NULL: teacher_name/teacher_key alone
  ALTER TABLE heads ADD COLUMN teachers TEXT;            -- JSON [{id, name, key}] of every teacher the head reads; NULL: model_id/teacher_key alone
`,
  },
  // 9: the folder every image shares (min and max of the paths), read with every page of the grid's list,
  // without a scan of the table: 50-130 ms at 100,000 images, each page.
  {
    version: 9,
    sql: `CREATE INDEX images_original_path ON images(original_path);`,
  },
];

/** The migration that brings a project to `version`. */
export function migration(version: number): Migration {
  const found = MIGRATIONS.find((candidate) => candidate.version === version);
  if (!found) throw new Error(`No migration ${version}`);
  return found;
}
