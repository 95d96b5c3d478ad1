#!/usr/bin/env node
import { main } from './cli/main';
import { onOutputError } from './cli/output-errors';

// `tsvmm demo | head` ends quietly; `tsvmm demo >/dev/full` says so in one line and exits 74.
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.on('error', (e: NodeJS.ErrnoException) =>
    onOutputError(name, e, {
      writeErr: (t) => void process.stderr.write(t),
      exit: (code) => process.exit(code),
      pendingExitCode: () => (typeof process.exitCode === 'number' ? process.exitCode : undefined),
    }),
  );
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
