#!/usr/bin/env node
// The `prism` CLI. Runs the TypeScript sources directly through tsx so there is no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
