/**
 * `atl-studio train <project.atl> --strategy <name>[(key=value,…)] [--model <id>[,<id>…]]`: trains a
 * head on every human label of the project (extracting features as needed), stores it in the
 * project, and prints its id and cross-validated accuracy. Several teachers (`--model a,b`): the
 * head learns from their candidates together (e.g. `--strategy atl-teachers`).
 */
import type { Command } from 'commander';
import { StrategyName } from '../../shared/contract';
import { parseStrategySpec, type ResolvedStrategySpec } from '../atl/strategies';
import type { StudioServices } from '../app/composition-root';
import { planTraining, trainHead } from '../app/train';
import { checkedFlag, choiceFlag, teacherIds } from './flags';
import { runJob, withProject } from './with-project';

export function registerTrainCommand(program: Command, { teachers, jobs }: StudioServices): Command {
  return program
    .command('train')
    .description("train a classifier head on a project's labels with one strategy and store it in the project")
    .argument('<project>', '.atl project file')
    .requiredOption(
      '--strategy <strategy>',
      `${StrategyName.options.join(' | ')}; with parameters other than the defaults: e.g. 'atl(maxSize=2,C=0.5)'`,
      strategyFlag,
    )
    .option('--model <id>[,<id>...]', 'teacher id, or several (the head reads their candidates together); default: the default teacher', teacherIds)
    .option('--name <name>', 'a name for the head')
    .option('--json', 'print JSON')
    .action(async (projectPath: string, options: { strategy: ResolvedStrategySpec; model?: string[]; name?: string; json?: boolean }) => {
      await withProject(projectPath, async (project) => {
        const modelIds = options.model ?? [teachers.store.defaultId];
        const input = { modelId: modelIds[0], modelIds: modelIds.length > 1 ? modelIds : undefined, strategy: options.strategy, name: options.name };
        const plan = await planTraining(project, teachers, input);
        const head = await runJob(jobs, 'train', (job) => trainHead(project, plan, input, job), { quiet: options.json });
        if (!head) {
          console.error('Cancelled: no head was stored.');
          process.exitCode = 130;
          return;
        }
        const result = {
          id: head.id,
          name: head.name,
          strategy: head.strategy,
          params: head.params,
          studio_version: head.studioVersion,
          model: head.modelId,
          teachers: head.teachers.map((t) => t.id),
          cv_accuracy: head.cvAccuracy,
          cv_ci95: head.cvCi95,
          cv_splits: head.cvSplits,
          candidates: head.candidates,
          classes: head.classes,
        };
        if (options.json) console.log(JSON.stringify(result, null, 2));
        else {
          const cv = head.cvAccuracy === null ? 'no cross-validation (fewer than two classes have two or more labels)' : `cross-validated accuracy ${(100 * head.cvAccuracy).toFixed(1)} % ± ${(100 * head.cvCi95!).toFixed(1)} (${head.cvSplits} splits)`;
          console.log(`Stored head ${head.id} (${head.name}): ${cv}; reads ${head.candidates.join(', ')}`);
        }
      });
    });
}

/** A strategy name (refused with the list of names when unknown), with parameters in parentheses if any. */
function strategyFlag(value: string): ResolvedStrategySpec {
  choiceFlag('--strategy', StrategyName.options)(value.replace(/\(.*$/s, '').trim());
  return checkedFlag(parseStrategySpec)(value);
}
