/**
 * `atl-studio recover <damaged.atl> --out <new.atl>`: saves every row a damaged project file still
 * holds into a new project file. The damaged file is only read, never changed.
 */
import type { Command } from 'commander';
import { recoverProject } from '../services/project-recovery';

export function registerRecoverCommand(program: Command): Command {
  return program
    .command('recover')
    .description('copy what a damaged project file still holds into a new project file (the damaged one is left as it is)')
    .argument('<damaged>', 'the damaged .atl file')
    .requiredOption('--out <new>', 'the new .atl file to create (must not exist)')
    .option('--json', 'print JSON')
    .action((damagedPath: string, options: { out: string; json?: boolean }) => {
      const report = recoverProject(damagedPath, options.out);
      if (options.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      const copied = report.tables.reduce((sum, t) => sum + t.copied, 0);
      console.log(`Saved ${copied} rows into ${report.target} (${report.source} was not changed):`);
      for (const t of report.tables) {
        if (t.copied === 0 && t.unreadable === 0 && t.dropped === 0) continue;
        const lost = t.unreadable === null ? ', some could not be read' : t.unreadable > 0 ? `, ${t.unreadable} could not be read` : '';
        const dropped = t.dropped > 0 ? `, ${t.dropped} left out as what they belong to was lost` : '';
        console.log(`  ${t.table}: ${t.copied} saved${lost}${dropped}`);
      }
    });
}
