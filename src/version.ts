import { createRequire } from 'node:module';

/** perfwatch's own version, read from package.json so it is never out of step with a release. */
export const PERFWATCH_VERSION: string = (
  createRequire(import.meta.url)('../package.json') as { version: string }
).version;
