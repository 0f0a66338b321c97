import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import type { PerfWatch } from '../startPerfWatch.js';
import type { ApiServerOptions } from './ApiServerOptions.js';
import { createApiServer } from './createApiServer.js';
import { resolveApiConfig } from './resolveApiConfig.js';

export interface RunningApiServer {
  /** Base URL, e.g. http://127.0.0.1:9465 (the page is at `/`, the API under /api/performance). */
  readonly url: string;
  readonly port: number;
  /** Ends SSE streams and open connections, then stops listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves the HTTP API and the dashboard for a running perfwatch. Refuses (ConfigError) to bind
 * beyond loopback without an API token, and names the setting when the port is taken.
 */
export async function startApiServer(
  perfwatch: PerfWatch,
  options: ApiServerOptions = {},
  extra: { logger?: Logger; now?: () => number } = {},
): Promise<RunningApiServer> {
  const config = resolveApiConfig(options);
  const server = await createApiServer(perfwatch, config, extra);
  try {
    await server.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await server.close();
    const code = (error as NodeJS.ErrnoException).code;
    throw code === 'EADDRINUSE'
      ? new ConfigError(
          'apiPort (PERFWATCH_API_PORT)',
          `port ${config.port} on ${config.host} is already in use`,
          {
            cause: error,
          },
        )
      : new ConfigError(
          'apiHost (PERFWATCH_API_HOST)',
          `cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
  }
  const address = server.app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, port: address.port, close: () => server.close() };
}
