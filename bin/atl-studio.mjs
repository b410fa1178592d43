#!/usr/bin/env node
// The `atl-studio` command: runs the TypeScript CLI through tsx, so it works from a fresh clone
// (`npx atl-studio …`) without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main/cli/main.ts');
