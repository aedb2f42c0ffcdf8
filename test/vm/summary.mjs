// Print the guest's vitest JSON report (test/vm/run.sh): totals, then every failed test with the
// first lines of its message. Exits 1 when a test failed or none ran, 0 otherwise.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failed = [];
for (const file of report.testResults ?? []) {
  for (const t of file.assertionResults ?? []) {
    if (t.status === 'failed')
      failed.push({ file: file.name, name: t.fullName, message: (t.failureMessages ?? []).join('\n') });
  }
  if (file.status === 'failed' && (file.assertionResults ?? []).length === 0)
    failed.push({ file: file.name, name: '(file)', message: file.message ?? '' });
}
const line = `v2 guest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped, of ${report.numTotalTests} tests in ${report.numTotalTestSuites} suites`;
process.stdout.write(`${line}\n`);
for (const f of failed) {
  process.stdout.write(
    `FAIL ${f.file.replace(/^.*\/test\//, 'test/')} > ${f.name}\n  ${f.message.split('\n').slice(0, 6).join('\n  ')}\n`,
  );
}
process.exit(failed.length > 0 || report.numTotalTests === 0 || !report.success ? 1 : 0);
