import { serialize } from 'node:v8';
import { PerfWatchError, StoreLockedError } from '../errors.js';
import { SandboxConnection } from './SandboxConnection.js';
import type { SandboxReply, SandboxRequest } from './sqlSandboxMessages.js';

/**
 * The query process SqlSandbox starts (startModuleProcess): one SandboxConnection, answering one
 * request at a time over IPC. SqlSandbox ends it with SIGKILL when a query passes its deadline
 * or memory limit, so nothing here needs to be interruptible.
 */
let connection: SandboxConnection | undefined;
let busy = false;

process.on('message', (request: SandboxRequest) => {
  busy = true;
  void answer(request).then((reply) => {
    busy = false;
    process.send?.(reply);
  });
});

// The parent is gone (it exited or crashed): nobody is left to end this process, so it ends now.
// A query still running in DuckDB's threads may not let a normal exit finish.
process.on('disconnect', () => {
  if (busy) process.kill(process.pid, 'SIGKILL');
  connection?.close();
  process.exit(0);
});

async function answer(request: SandboxRequest): Promise<SandboxReply> {
  try {
    if (request.type === 'open') {
      connection = await SandboxConnection.open(request.path, request.settings);
      return { type: 'opened' };
    }
    if (connection === undefined) throw new Error('the sandbox is not open');
    const payload = serialize(await connection.run(request.sql, request.rowLimit));
    if (payload.byteLength > request.maxResultBytes) {
      return {
        type: 'failed',
        code: 'PERFWATCH_SQL_MEMORY_LIMIT',
        detail: `the result is ${mebibytes(payload.byteLength)} MiB, more than the limit of ${mebibytes(request.maxResultBytes)} MiB; select fewer columns or rows (LIMIT, --max-rows)`,
      };
    }
    return { type: 'rows', payload };
  } catch (error) {
    return failure(error);
  }
}

function failure(error: unknown): SandboxReply {
  if (error instanceof StoreLockedError) {
    return {
      type: 'failed',
      code: error.code,
      detail: error.message,
      path: error.path,
      ...(error.holderPid === undefined ? {} : { holderPid: error.holderPid }),
    };
  }
  if (error instanceof PerfWatchError) {
    return { type: 'failed', code: error.code, detail: error.message.replace(/^sql: /, '') };
  }
  return { type: 'failed', code: 'PERFWATCH_SQL_FAILED', detail: (error as Error).message };
}

function mebibytes(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
