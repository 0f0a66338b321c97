import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ConfigError } from '../errors.js';
import { type Logger, silentLogger } from '../logging/Logger.js';

/** PrometheusExporter with our cardinality limit (its constructor takes none). */
class LimitedPrometheusExporter extends PrometheusExporter {
  constructor(private readonly cardinalityLimit: number) {
    super({ preventServerStart: true });
  }

  override selectCardinalityLimit(): number {
    return this.cardinalityLimit;
  }
}

/**
 * The Prometheus scrape endpoint: the exporter's own text format, served by our HTTP server.
 * The exporter's built-in server treats port 0 as "use the default" (`port || 9464`) and listens
 * on every interface unless told otherwise; ours honours port 0 and binds where configured.
 */
export class PrometheusEndpoint {
  readonly exporter: PrometheusExporter;
  private server: Server | undefined;

  private readonly logger: Logger;

  constructor(options: { cardinalityLimit: number; logger?: Logger }) {
    this.exporter = new LimitedPrometheusExporter(options.cardinalityLimit);
    this.logger = options.logger ?? silentLogger;
  }

  /** Starts listening; a port in use or an unusable host is a ConfigError naming the setting. */
  async listen(host: string, port: number): Promise<{ host: string; port: number; url: string }> {
    const server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method === 'GET' && path === '/metrics') {
        this.exporter.getMetricsRequestHandler(request, response);
        return;
      }
      response.statusCode = 404;
      response.setHeader('content-type', 'text/plain; charset=utf-8');
      response.end('not found: metrics are served at /metrics\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') {
          reject(
            new ConfigError(
              'prometheusPort (OTEL_EXPORTER_PROMETHEUS_PORT)',
              `port ${port} on ${host} is already in use`,
              { cause: error },
            ),
          );
        } else {
          reject(
            new ConfigError(
              'prometheusHost (OTEL_EXPORTER_PROMETHEUS_HOST)',
              `cannot listen on ${host}:${port}: ${error.message}`,
              {
                cause: error,
              },
            ),
          );
        }
      });
      server.listen({ host, port }, () => resolve());
    });
    // After start-up, errors (EMFILE on accept, …) are logged: an unhandled 'error' event would
    // crash the host application.
    server.on('error', (error) => this.logger.error({ err: error }, 'Prometheus endpoint error'));
    this.server = server;
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, url: `http://${shownHost}:${address.port}/metrics` };
  }

  /** Stops the HTTP server (the exporter itself is shut down with its MeterProvider). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
