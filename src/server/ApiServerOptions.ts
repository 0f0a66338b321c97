/** Options of the HTTP API and dashboard server (`startApiServer`, `perfwatch start --api-*`). */
export interface ApiServerOptions {
  /** Interface to bind. Anything but loopback needs `token`. Env `PERFWATCH_API_HOST`. @default '127.0.0.1' */
  host?: string;
  /** Port; 0 picks a free one. Env `PERFWATCH_API_PORT`. @default 9465 */
  port?: number;
  /**
   * Bearer token. When set, mutating routes and `POST sql` need `Authorization: Bearer TOKEN`
   * (and every route with `protectReads`). Env `PERFWATCH_API_TOKEN`. @default undefined
   */
  token?: string;
  /** Also require the token on read routes. @default false */
  protectReads?: boolean;
  /** Largest request body in bytes; larger ones get 413. @default 1048576 (1 MiB) */
  bodyLimitBytes?: number;
  /**
   * Origins allowed by CORS (exact match, e.g. `https://ops.example`); their pages may also send
   * mutating requests, which other sites' pages may not. Env `PERFWATCH_API_CORS_ORIGINS`
   * (comma-separated). @default [] (no CORS headers)
   */
  corsOrigins?: readonly string[];
  /**
   * Host names (without port) the API answers to besides loopback ones, e.g. the name a reverse
   * proxy forwards. Any other `Host` gets 403, which defeats DNS rebinding. When the API listens
   * on a non-loopback interface and this is empty, every Host is accepted.
   * Env `PERFWATCH_API_ALLOWED_HOSTS` (comma-separated). @default []
   */
  allowedHosts?: readonly string[];
  /**
   * `POST sql` runs on a sandboxed snapshot of the live file (the live file cannot be sandboxed);
   * a snapshot older than this many milliseconds is refreshed first. @default 30000
   */
  sqlSnapshotMaxAgeMillis?: number;
}

export interface ApiServerConfig {
  readonly host: string;
  readonly port: number;
  readonly token: string | undefined;
  readonly protectReads: boolean;
  readonly bodyLimitBytes: number;
  readonly corsOrigins: readonly string[];
  readonly allowedHosts: readonly string[];
  readonly sqlSnapshotMaxAgeMillis: number;
}

export const DEFAULT_API_PORT = 9465;
export const DEFAULT_API_HOST = '127.0.0.1';
