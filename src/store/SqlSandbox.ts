import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { deserialize } from 'node:v8';
import {
  ShutdownError,
  SqlError,
  SqlMemoryLimitError,
  SqlRefusedError,
  SqlTimeoutError,
  StoreLockedError,
} from '../errors.js';
import { startModuleProcess } from '../scheduling/startModuleProcess.js';
import type { SandboxRows, SandboxSettings } from './SandboxConnection.js';
import type { SandboxReply, SandboxRequest } from './sqlSandboxMessages.js';
import type { Row } from './toJs.js';

export interface SqlOptions {
  /**
   * Milliseconds the query may take, counted from `arrivedAt`: waiting behind other queries and
   * starting the query process count too. Past it the query is stopped. @default 10000
   */
  timeoutMillis?: number;
  /** Most rows returned; more are cut and `truncated` says so. @default 10000 */
  rowLimit?: number;
  /** When the request arrived, on the sandbox's clock (`SqlSandboxOptions.now`). @default the call */
  arrivedAt?: number;
}

export interface SqlSandboxOptions {
  /**
   * Most memory (resident set, bytes) the query process may use; past it the query is stopped
   * with SqlMemoryLimitError. Read from /proc every `watchIntervalMillis` (Linux; elsewhere only
   * DuckDB's own `memory_limit`, half of this, holds). @default 536870912 (512 MiB)
   */
  memoryLimitBytes?: number;
  /**
   * Most disk (bytes) a query may spill to. DuckDB's `max_temp_directory_size` is set to it, and
   * since DuckDB does not hold it for every operator, the spill folder is also measured every
   * `watchIntervalMillis` and the query stopped past it. @default 1073741824 (1 GiB)
   */
  maxTempDirectoryBytes?: number;
  /** Largest result (bytes, serialized) handed back; larger is SqlMemoryLimitError. @default 67108864 (64 MiB) */
  maxResultBytes?: number;
  /** Folder the spill folders go in. @default the history file's folder (where DuckDB spills by default) */
  tempParent?: string;
  /** How often, in milliseconds, a running query's memory and spill folder are measured. @default 25 */
  watchIntervalMillis?: number;
  /** Clock for deadlines, in milliseconds. @default performance.now */
  now?: () => number;
}

export interface SqlResult {
  readonly columns: readonly { name: string; type: string }[];
  readonly rows: readonly Row[];
  /** True when the query had more rows than `rowLimit`; only the first `rowLimit` are here. */
  readonly truncated: boolean;
  readonly rowLimit: number;
  /** From the request's arrival to the answer, queueing included. */
  readonly elapsedMillis: number;
}

interface Job {
  readonly sql: string;
  readonly rowLimit: number;
  readonly timeoutMillis: number;
  readonly arrivedAt: number;
  readonly resolve: (result: SqlResult) => void;
  readonly reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
  settled: boolean;
}

interface QueryProcess {
  readonly child: ChildProcess;
  readonly tempDirectory: string;
  /** Resolves when the file is open; rejects with the reason it could not be. */
  ready: Promise<void>;
  /** The answer the current request waits for; an exit answers it too. */
  waiting: ((reply: SandboxReply | undefined) => void) | undefined;
  /** Resolves once the process has exited and its spill folder is gone. */
  readonly gone: Promise<void>;
  /** A measurement of the spill folder is under way (they are asynchronous). */
  measuring: boolean;
}

const MIB = 2 ** 20;
let spillFolders = 0;

/**
 * Ad-hoc SQL over a history file, read-only and sandboxed: one SELECT per call, no file, network
 * or extension access, a row cap, and limits on wall time, memory and spill disk that hold for any
 * query. DuckDB checks neither its interrupt nor its memory_limit inside one huge string function
 * (`repeat('x', 2000000000)` ran on for minutes, to 8.7 GB), so queries run in a child process
 * (sqlSandboxProcess) that opens its own read-only instance, and that process is ended with SIGKILL
 * when a query passes its deadline, its memory limit or its spill limit; the next query starts a
 * new one. Queries run one at a time, in arrival order; a query whose deadline passes while it
 * waits is answered then, without running. Works on a file no process is writing (DuckDB refuses a
 * second process while perfwatch writes it).
 */
export class SqlSandbox {
  /** The process the next query runs in. */
  private process: QueryProcess | undefined;
  /** Every process not yet gone, ended ones included: close waits for their spill folders. */
  private readonly processes = new Set<QueryProcess>();
  private readonly queue: Job[] = [];
  private running: Job | undefined;
  private closed = false;
  private readonly memoryLimitBytes: number;
  private readonly maxTempDirectoryBytes: number;
  private readonly maxResultBytes: number;
  private readonly tempParent: string;
  private readonly watchIntervalMillis: number;
  private readonly now: () => number;

  private constructor(
    private readonly path: string,
    options: SqlSandboxOptions,
  ) {
    this.memoryLimitBytes = options.memoryLimitBytes ?? 512 * MIB;
    this.maxTempDirectoryBytes = options.maxTempDirectoryBytes ?? 1024 * MIB;
    this.maxResultBytes = options.maxResultBytes ?? 64 * MIB;
    this.tempParent = options.tempParent ?? dirname(path);
    this.watchIntervalMillis = options.watchIntervalMillis ?? 25;
    this.now = options.now ?? (() => performance.now());
  }

  /**
   * Starts the query process and opens `path` read-only in it; StoreLockedError names the PID
   * when a running perfwatch holds the file.
   */
  static async open(path: string, options: SqlSandboxOptions = {}): Promise<SqlSandbox> {
    const sandbox = new SqlSandbox(path, options);
    const started = sandbox.start();
    try {
      await started.ready;
    } catch (error) {
      await sandbox.close();
      throw error;
    }
    return sandbox;
  }

  run(sql: string, options: SqlOptions = {}): Promise<SqlResult> {
    if (this.closed) return Promise.reject(new ShutdownError('SqlSandbox'));
    const timeoutMillis = options.timeoutMillis ?? 10_000;
    const arrivedAt = options.arrivedAt ?? this.now();
    return new Promise<SqlResult>((resolve, reject) => {
      const job: Job = {
        sql,
        rowLimit: options.rowLimit ?? 10_000,
        timeoutMillis,
        arrivedAt,
        resolve,
        reject,
        settled: false,
      };
      const left = arrivedAt + timeoutMillis - this.now();
      if (left <= 0) {
        this.settle(job, new SqlTimeoutError(timeoutMillis));
        return;
      }
      job.timer = setTimeout(() => this.expire(job), left);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Answers waiting queries with ShutdownError, ends the query process and removes its spill folders. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, new ShutdownError('SqlSandbox'));
    if (this.running !== undefined) this.settle(this.running, new ShutdownError('SqlSandbox'));
    const current = this.process;
    this.process = undefined;
    if (current !== undefined) {
      // Read-only, so ending it cannot damage the file; disconnecting lets an idle one close DuckDB.
      if (this.running === undefined && current.child.connected) current.child.disconnect();
      else current.child.kill('SIGKILL');
    }
    const killer = setTimeout(() => current?.child.kill('SIGKILL'), 2_000);
    await Promise.all([...this.processes].map((queryProcess) => queryProcess.gone));
    clearTimeout(killer);
  }

  private start(): QueryProcess {
    const tempDirectory = join(
      this.tempParent,
      `.${basename(this.path)}.sql-tmp-${process.pid}-${++spillFolders}`,
    );
    const child = startModuleProcess(import.meta.url, 'sqlSandboxProcess');
    let exited: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => {
      exited = resolve;
    });
    const queryProcess: QueryProcess = {
      child,
      tempDirectory,
      ready: Promise.resolve(),
      waiting: undefined,
      gone,
      measuring: false,
    };
    child.on('message', (reply: SandboxReply) => this.answered(queryProcess, reply));
    let over = false;
    const ended = () => {
      if (over) return;
      over = true;
      if (this.process === queryProcess) this.process = undefined;
      this.answered(queryProcess, undefined);
      void rm(tempDirectory, { recursive: true, force: true })
        .catch(() => undefined)
        .then(() => {
          this.processes.delete(queryProcess);
          exited();
        });
    };
    // 'error' when it could not start (then there is no 'exit') or could not be signalled.
    child.once('error', () => {
      child.kill('SIGKILL');
      ended();
    });
    child.once('exit', ended);
    const settings: SandboxSettings = {
      duckdbMemoryBytes: Math.floor(this.memoryLimitBytes / 2),
      tempDirectory,
      maxTempDirectoryBytes: this.maxTempDirectoryBytes,
    };
    queryProcess.ready = this.request(queryProcess, { type: 'open', path: this.path, settings }).then(
      (reply) => {
        if (reply?.type === 'opened') return;
        // Not kept: the next query tries again in a new process (the file may be free by then).
        if (this.process === queryProcess) this.process = undefined;
        if (child.connected) child.disconnect();
        throw reply?.type === 'failed' ? fromReply(reply) : processEnded(child);
      },
    );
    this.process = queryProcess;
    this.processes.add(queryProcess);
    return queryProcess;
  }

  private request(queryProcess: QueryProcess, request: SandboxRequest): Promise<SandboxReply | undefined> {
    return new Promise((resolve) => {
      queryProcess.waiting = resolve;
      queryProcess.child.ref();
      (queryProcess.child.channel as { ref?: () => void } | undefined)?.ref?.();
      // A failed send means the process is gone; its exit answers the request.
      queryProcess.child.send(request, (error) => {
        if (error) queryProcess.child.kill('SIGKILL');
      });
    });
  }

  private answered(queryProcess: QueryProcess, reply: SandboxReply | undefined): void {
    const waiting = queryProcess.waiting;
    queryProcess.waiting = undefined;
    this.idle(queryProcess);
    waiting?.(reply);
  }

  /** An idle query process must not keep the host alive; a request out holds it (request). */
  private idle(queryProcess: QueryProcess): void {
    queryProcess.child.unref();
    (queryProcess.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  /** Runs the oldest waiting query when none is running. */
  private pump(): void {
    if (this.running !== undefined || this.closed) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.running = job;
    void this.execute(job).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private async execute(job: Job): Promise<void> {
    let queryProcess: QueryProcess;
    try {
      queryProcess = this.process ?? this.start();
      await queryProcess.ready;
    } catch (error) {
      this.settle(job, error as Error);
      return;
    }
    if (job.settled) return;
    const watch = setInterval(() => this.watch(job, queryProcess), this.watchIntervalMillis);
    try {
      const reply = await this.request(queryProcess, {
        type: 'run',
        sql: job.sql,
        rowLimit: job.rowLimit,
        maxResultBytes: this.maxResultBytes,
      });
      if (reply === undefined) {
        this.settle(job, processEnded(queryProcess.child));
      } else if (reply.type === 'failed') {
        this.settle(job, fromReply(reply));
      } else if (reply.type === 'rows') {
        const rows = deserialize(reply.payload) as SandboxRows;
        this.settle(job, undefined, {
          ...rows,
          rowLimit: job.rowLimit,
          elapsedMillis: this.now() - job.arrivedAt,
        });
      }
    } finally {
      clearInterval(watch);
    }
  }

  /** The deadline passed: a waiting query is answered now, a running one is stopped. */
  private expire(job: Job): void {
    if (job.settled) return;
    const waiting = this.queue.indexOf(job);
    if (waiting >= 0) this.queue.splice(waiting, 1);
    else if (this.running === job) this.stop();
    this.settle(job, new SqlTimeoutError(job.timeoutMillis));
  }

  private watch(job: Job, queryProcess: QueryProcess): void {
    if (job.settled || this.running !== job) return;
    const rss = residentBytes(queryProcess.child.pid);
    if (rss !== undefined && rss > this.memoryLimitBytes) {
      this.stop();
      this.settle(
        job,
        new SqlMemoryLimitError(
          `the query used more than ${mebibytes(this.memoryLimitBytes)} MiB of memory and was stopped; narrow it (WHERE TimeUnix > …, fewer or shorter values)`,
        ),
      );
      return;
    }
    if (queryProcess.measuring) return;
    queryProcess.measuring = true;
    void folderBytes(queryProcess.tempDirectory).then((bytes) => {
      queryProcess.measuring = false;
      if (job.settled || this.running !== job || bytes <= this.maxTempDirectoryBytes) return;
      this.stop();
      this.settle(
        job,
        new SqlMemoryLimitError(
          `the query spilled more than ${mebibytes(this.maxTempDirectoryBytes)} MiB to disk and was stopped; narrow it (WHERE TimeUnix > …, fewer groups)`,
        ),
      );
    });
  }

  /**
   * Ends the query process (SIGKILL: DuckDB may be deep in one function) and starts the next one
   * now, so the next query does not wait for it (about 0.2-1 s, mostly loading DuckDB).
   */
  private stop(): void {
    const queryProcess = this.process;
    this.process = undefined;
    queryProcess?.child.kill('SIGKILL');
    if (this.closed) return;
    try {
      // A failure to open again is the next query's answer (execute awaits `ready`).
      this.start().ready.catch(() => undefined);
    } catch {
      // Could not start at all: the next query tries again and reports why.
    }
  }

  private settle(job: Job, error: Error | undefined, result?: SqlResult): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (error !== undefined) job.reject(error);
    else job.resolve(result!);
  }
}

/** The error the query process reported, raised again here with its class. */
function fromReply(reply: Extract<SandboxReply, { type: 'failed' }>): Error {
  switch (reply.code) {
    case 'PERFWATCH_STORE_LOCKED':
      return new StoreLockedError(reply.path ?? '', reply.holderPid);
    case 'PERFWATCH_SQL_REFUSED':
      return new SqlRefusedError(reply.detail);
    case 'PERFWATCH_SQL_MEMORY_LIMIT':
      return new SqlMemoryLimitError(reply.detail);
    default:
      return new SqlError(reply.detail);
  }
}

function processEnded(child: ChildProcess): SqlError {
  const how = child.signalCode ?? `exit code ${child.exitCode}`;
  return new SqlError(`the query process ended unexpectedly (${how})`);
}

/** The process's resident set from /proc (Linux); undefined where there is none. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** Disk the folder's files take (allocated blocks: DuckDB's spill files are sparse). */
async function folderBytes(folder: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return 0;
  }
  let total = 0;
  for (const name of names) {
    const info = await stat(join(folder, name)).catch(() => undefined);
    if (info !== undefined) total += info.blocks > 0 ? info.blocks * 512 : info.size;
  }
  return total;
}

function mebibytes(bytes: number): string {
  return (bytes / MIB).toFixed(0);
}
