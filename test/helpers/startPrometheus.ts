import { spawn, spawnSync } from 'node:child_process';
import { freePort } from './freePort.js';

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  /** An instant query; throws while the server is not up yet or when the query fails. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** GET a path of the HTTP API and return its `data`. */
  api<T>(path: string): Promise<T>;
  /** SIGTERM to its PID, SIGKILL if it has not exited 5 s later. */
  stop(): Promise<void>;
}

/**
 * A real Prometheus server (Debian's `prometheus` package, installed by .ci/run) on a loopback
 * port, with its storage in `storageDir`. It starts asynchronously: poll `query` with a bounded
 * wait.
 */
export async function startPrometheus(configFile: string, storageDir: string): Promise<PrometheusServer> {
  if (spawnSync('prometheus', ['--version']).error) {
    throw new Error('the `prometheus` binary is missing: apt-get install prometheus (as .ci/run does)');
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${storageDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  child.on('error', (error) => {
    stderr += `${error}\n`;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  async function api<T>(path: string): Promise<T> {
    // A config Prometheus rejects ends the process: say why instead of "connection refused".
    if (hasExited()) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? body.status}`);
    return body.data;
  }

  return {
    url,
    api,
    query: async (promql) =>
      (await api<{ result: PrometheusSample[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    stop: async () => {
      if (hasExited()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
