/**
 * Ends the CLI with `code` once everything written to stdout and stderr has left the process.
 * Writes to a pipe are asynchronous past what the pipe holds (64 KiB on Linux), and
 * `process.exit` does not wait for them: `perfwatch query … --json | wc -c` used to count 65,536
 * bytes of a 328,892-byte answer. A slow reader makes this wait as long as it takes, as any Unix
 * tool blocked on its output would.
 *
 * The process is still ended here rather than left to the event loop: a handle nobody closes (a
 * keep-alive socket of the API client, a native DuckDB handle) would otherwise hold a finished
 * command open.
 */
export async function exitAfterOutput(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/**
 * Resolves when the writes queued on `stream` so far are done. A write's callback runs after
 * those of every write before it, so an empty write marks the end of the queue; its callback also
 * runs, with an error, when the reader leaves meanwhile — nothing more to wait for then.
 */
function written(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
  });
}
