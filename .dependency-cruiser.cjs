/**
 * The layers of the code, checked by `npm run lint:layers` (which `npm test` runs first).
 *
 *   core      src/shared, src/main/core, src/main/atl   pure: maths, strategies, pooling, errors, shared types
 *   services  src/main/{engines,features,models,export,services}   I/O: files, SQLite, images, teacher networks
 *   app       src/main/app   the use-cases, the contract's handlers, the job runner, the composition root
 *   fronts    src/main/{cli,web,electron-main}, src/preload, src/renderer
 *
 * A layer imports only from itself and the layers below it; the renderer imports only src/shared.
 * README.md ("How it is built") describes the same table.
 */
const CORE = '^src/(shared|main/(core|atl))/';
const SERVICES = '^src/main/(engines|features|models|export|services)/';
const APP = '^src/main/app/';
const FRONTS = '^src/(main/(cli|web|electron-main)|preload|renderer)/';
/** Node's built-in modules that reach outside the process (files, processes, network, threads). */
const NODE_IO = '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|worker_threads|cluster)$';
/** Packages that read or write files, run native code or talk to the desktop (resolved or not). */
const PACKAGE_IO = '(^|(^|/)node_modules/)(better-sqlite3|sharp|onnxruntime-[^/]+|@tensorflow/[^/]+|electron)(/|$)';

module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        'The core (src/shared, src/main/core, src/main/atl) does no I/O: no file system, processes, network, SQLite, ' +
        'sharp, ONNX Runtime, TF.js or Electron. Move the I/O into src/main/features or src/main/services and pass ' +
        'its results (numbers, arrays) into the core.',
      from: { path: CORE },
      to: { path: [NODE_IO, PACKAGE_IO] },
    },
    {
      name: 'core-imports-core-only',
      severity: 'error',
      comment:
        'The core imports only the core. Move the function you need into src/main/core (if it is pure) or move ' +
        'the importing code up into src/main/features or src/main/services.',
      from: { path: CORE },
      to: { path: '^src/', pathNot: CORE },
    },
    {
      name: 'services-do-not-import-app-or-fronts',
      severity: 'error',
      comment:
        'Engines, features, models, export and services are called by the application layer (src/main/app) and the ' +
        'fronts, never the other way round. Move the shared code down into a service, or pass what the service ' +
        'needs in as an argument.',
      from: { path: SERVICES },
      to: { path: [APP, FRONTS] },
    },
    {
      name: 'app-does-not-import-fronts',
      severity: 'error',
      comment:
        'The application layer (src/main/app: use-cases, handlers, job runner) is what every front calls: the CLI, ' +
        'the web server and Electron. It never imports a front. Move the shared code into src/main/app, or let the ' +
        'front pass it in (a callback, a service built in its composition root).',
      from: { path: APP },
      to: { path: FRONTS },
    },
    {
      name: 'renderer-imports-shared-only',
      severity: 'error',
      comment:
        'The renderer talks to the studio only through the contract: it may import src/shared and its own files, ' +
        'never src/main or src/preload. Add what it needs to src/shared/contract.ts.',
      from: { path: '^src/renderer/' },
      to: { path: '^src/', pathNot: '^src/(renderer|shared)/' },
    },
    {
      name: 'renderer-does-no-io',
      severity: 'error',
      comment:
        "The renderer is a web page: no Node built-ins or native packages. Ask the studio through the contract's API.",
      from: { path: '^src/renderer/' },
      to: { path: [NODE_IO, PACKAGE_IO] },
    },
    // The renderer's state modules (src/renderer/src/lib) each hold one concern; a cycle between two
    // of them means one concern leaked into the other (labels ↔ studio was one).
    {
      name: 'renderer-no-cycles',
      severity: 'error',
      comment:
        'Two renderer modules import each other (directly or through others). Move what both need into the lower ' +
        'one, or let the lower one be told through a listener (workspace.listen) instead of importing the upper one.',
      from: { path: '^src/renderer/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.svelte', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
