import { writeFile } from 'node:fs/promises';
import { perfwatchDashboardJson } from './perfwatchDashboard.js';

/** `npm run dashboard`: regenerates the committed dashboard JSON from perfwatchDashboard.ts. */
const path = new URL('./perfwatch-dashboard.json', import.meta.url);
await writeFile(path, perfwatchDashboardJson());
console.log(`wrote ${path.pathname}`);
