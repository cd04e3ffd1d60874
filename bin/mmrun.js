#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx so `npx mmrun` works right after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';
register();
await import('../runner/cli.ts');
