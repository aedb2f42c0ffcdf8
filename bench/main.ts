// `npm run bench`: the bench's own entry (bench/run.ts does the work; `sandbox bench` calls the same).
import { runBench } from './run.js';

process.exit(await runBench(process.argv.slice(2)));
