import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/main/services/migrations';

/**
 * The sha256 of each released migration's SQL. A project file made by a release holds the schema
 * its migrations wrote; editing one of them would make new projects differ from old ones with
 * nothing to upgrade the old. Change the schema with a new migration, and record its hash here.
 */
const RELEASED_SHA256: Record<number, string> = {
  1: '56f20b492a339f691432aadd9f5446548edcd84d2ccbb1a989d4d28d4d683641',
  2: '3d03e8df5f3290c7b98369fa77957a3bc6fe767037230379bbb6fbc99387960a',
  3: '36c89d2b9789334ef52a4685234c7ad0de83f857e7f8c05733def5878b669aa0',
  4: 'c6c31bef410667838df33d26274a8b9c4a14d3ae11deff42e716de0e4050d158',
  5: 'd57092a9753209fc15e8ae339cdf93578d79f033830049ab30013cd9316082d2',
  6: '5bd4e36fe6d67a62fe15cbabf9af48252fee25cc0de0d460ab74f043b22f74fc',
  7: 'aabd5865ce99ea72c17580ff19ebf4308f5aa15c14530c38668f740661e85ac5',
  8: '42213cf708b81e47795b4745ecee5f2baf2b30e1cf0985a72ec01a008045e671',
  9: '24381ae968749d11f42d99df6b58a1708f410f0d5233c79ea8f2d4cd960aa5ed',
};

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('migrations', () => {
  it('are numbered 1, 2, 3, … in the order they run', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
  });

  it('keep the SQL they were released with, byte for byte', () => {
    const edited = MIGRATIONS.filter((migration) => migration.version in RELEASED_SHA256)
      .filter((migration) => sha256(migration.sql) !== RELEASED_SHA256[migration.version])
      .map((migration) => migration.version);
    expect(
      edited,
      `Released migration(s) ${edited.join(', ')} changed. Never edit a released migration: projects made with it ` +
        'keep its schema. Restore its SQL in src/main/services/migrations.ts and add a new migration at the end instead.',
    ).toEqual([]);
  });

  it('are all recorded here, so that a released migration cannot change unnoticed', () => {
    const unrecorded = MIGRATIONS.filter((migration) => !(migration.version in RELEASED_SHA256)).map(
      (migration) => `${migration.version}: '${sha256(migration.sql)}'`,
    );
    expect(unrecorded, `Record the sha256 of each new migration in RELEASED_SHA256 of this test: ${unrecorded.join(', ')}`).toEqual([]);
  });
});
