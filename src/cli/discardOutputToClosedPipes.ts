/**
 * Once the reader of stdout or stderr has gone (`perfwatch query … | head -1`), whatever the
 * command still prints there is dropped, and the command carries on: an export still writes its
 * files, `start` still writes its last collection on SIGINT/SIGTERM, and the exit code stays the
 * command's own. Without a listener, the first EPIPE was an uncaught exception whose report went
 * to the same closed pipe: exit 1, no message, the work half done.
 *
 * The stream is destroyed after the error, and Node drops later writes to a destroyed stream
 * without another 'error' event, so one listener per stream is enough. pino's destination on fd 2
 * handles its own EPIPE the same way.
 */
export function discardOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // ECONNRESET: the same, when the output is a socket (a supervisor's) rather than a pipe.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      throw error;
    });
  }
}
