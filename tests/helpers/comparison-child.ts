/**
 * A second studio process for tests: opens a project, starts a long comparison and prints its run
 * id as one JSON line, then runs until the comparison ends or the test kills it.
 * Usage: node --import tsx tests/helpers/comparison-child.ts <studio home> <project.atl> <teacher id>
 */
import { STRATEGY_NAMES } from '../../src/shared/contract';
import { Studio } from '../../src/main/app/studio';

const [home, projectPath, modelId] = process.argv.slice(2);
const studio = new Studio({ home, front: 'web' });
await studio.invoke('project.open', { path: projectPath });
const { runId } = await studio.invoke('compare.start', {
  config: { modelId, strategies: [...STRATEGY_NAMES], mode: 'episodes', shots: [1, 3], ways: 5, queries: 5, repeats: 5000, testFraction: 0.25, seed: 1 },
});
console.log(JSON.stringify({ runId }));
await studio.idle();
await studio.dispose();
