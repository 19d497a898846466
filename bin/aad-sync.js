#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so there is no build step between a clone and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
// Agenda and pooled clients leave timers behind; a CLI run ends when its command does.
process.exit(code);
