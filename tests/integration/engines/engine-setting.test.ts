/**
 * The Models view's engine setting (issue 12): stored in the studio's settings, given back by
 * studio.info, and the open teachers reopen on the chosen engine, which the teacher's detail names.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/app/studio';
import { createServices } from '../../../src/main/app/composition-root';
import { setEnginePreference } from '../../../src/main/models/engine-choice';
import { SettingsService } from '../../../src/main/services/settings-service';
import { tempDir } from '../../helpers/fixtures';

const dir = tempDir('atl-engine-setting-');
const home = join(dir.path, 'home');
const studio = new Studio({ front: 'web', services: createServices(home) });
afterAll(async () => {
  await studio.dispose();
  setEnginePreference('auto');
  dir.remove();
});

describe('the engine setting', () => {
  it('is stored, and the teacher reopens on the engine chosen, then on auto again', async () => {
    expect((await studio.invoke('studio.info', {})).engine).toBe('auto');
    const before = await studio.invoke('models.inspect', { id: 'mobilenet_v1_0.75_224' });
    expect(before.engine).toMatchObject({ engine: 'onnxruntime' });

    await studio.invoke('studio.setEngine', { engine: 'tfjs-wasm' });
    expect((await studio.invoke('studio.info', {})).engine).toBe('tfjs-wasm');
    expect(new SettingsService(home).engine).toBe('tfjs-wasm');
    const chosen = await studio.invoke('models.inspect', { id: 'mobilenet_v1_0.75_224' });
    expect(chosen.engine).toMatchObject({ engine: 'tfjs', backend: 'wasm' });

    await studio.invoke('studio.setEngine', { engine: 'auto' });
    expect((await studio.invoke('models.inspect', { id: 'mobilenet_v1_0.75_224' })).engine).toMatchObject({ engine: 'onnxruntime' });
  }, 60_000);

  it('refuses an unknown engine', async () => {
    await expect(studio.invoke('studio.setEngine', { engine: 'cuda' } as never)).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
