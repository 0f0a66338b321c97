import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackName } from '../config/isLoopbackName.js';
import type { ApiServerConfig } from './ApiServerOptions.js';
import { body } from './errorEnvelope.js';

/**
 * What keeps a web page in the user's browser from driving the API, the protections Prometheus'
 * and Grafana's local servers rely on. A page on another site can send requests to
 * 127.0.0.1:9465 (CSRF), and with a DNS name it controls that resolves to 127.0.0.1, it can even
 * read the answers (DNS rebinding). So:
 *
 * - the `Host` header must name this server: a loopback name or address when it listens on
 *   loopback, or one of `allowedHosts` (a rebinding page's requests carry its own name);
 * - a mutating request (not GET/HEAD/OPTIONS) from a browser context of another site is refused:
 *   `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this server's nor a CORS origin;
 * - a mutating request must name a content type no HTML form can send (JSON, or YAML where a
 *   route reads it), which makes a browser ask first (a CORS preflight) before sending it from
 *   another origin. A request without a body says application/json too (an empty JSON body
 *   reads as no body).
 */
export function installRequestGuards(app: FastifyInstance, config: ApiServerConfig): void {
  const allowedHosts = new Set(config.allowedHosts.map((host) => host.toLowerCase()));
  const loopbackOnly = isLoopbackName(config.host);
  app.addHook('onRequest', async (request, reply) => {
    const hostname = hostnameOf(request.headers.host);
    const knownHost =
      hostname !== undefined &&
      (allowedHosts.has(hostname) || (loopbackOnly ? isLoopbackName(hostname) : allowedHosts.size === 0));
    if (!knownHost) {
      return refuse(
        reply,
        403,
        'PERFWATCH_HOST_NOT_ALLOWED',
        `Host ${JSON.stringify(request.headers.host ?? '')} does not name this server; add it with --api-allowed-host (env PERFWATCH_API_ALLOWED_HOSTS) if it is yours`,
      );
    }
    if (!isMutating(request)) return;
    const origin = request.headers.origin;
    const allowedOrigin = origin !== undefined && config.corsOrigins.includes(origin);
    if (!allowedOrigin && (crossSite(request) || (origin !== undefined && !sameOrigin(origin, request)))) {
      return refuse(
        reply,
        403,
        'PERFWATCH_CROSS_SITE_REFUSED',
        `a ${request.method} from another site (Origin ${origin ?? 'not sent'}) is refused; list the origin with --api-cors-origin to allow it`,
      );
    }
  });
  // After the token check (a request without the token hears 401 first) and only on real routes.
  app.addHook('preParsing', async (request, reply) => {
    if (!isMutating(request) || request.routeOptions.url === undefined) return;
    if (formCanSend(request.headers['content-type'])) {
      return refuse(
        reply,
        415,
        'PERFWATCH_UNSUPPORTED_MEDIA_TYPE',
        `a ${request.method} needs Content-Type: application/json (the body may be empty)`,
      );
    }
  });
}

/**
 * Refuses numbers that are not finite after validation: Ajv coerces `hours=Infinity` or `1e309`
 * to Infinity and then skips `minimum`/`maximum` for it, and JSON's 1e309 parses as Infinity.
 */
export function installFiniteNumberCheck(app: FastifyInstance): void {
  app.addHook('preHandler', async (request, reply) => {
    for (const [location, value] of [
      ['querystring', request.query],
      ['params', request.params],
      ['body', request.body],
    ] as const) {
      const field = nonFiniteField(value, '');
      if (field !== undefined) {
        return reply.code(400).send(
          body('PERFWATCH_REQUEST_INVALID', `${location}.${field}: must be a finite number (finite)`, {
            location,
            field,
            rule: 'finite',
          }),
        );
      }
    }
  });
}

/** The path of the first number that is ±Infinity or NaN, or undefined when there is none. */
function nonFiniteField(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = nonFiniteField(item, path === '' ? key : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Parses JSON bodies: an empty one as no body (so body-less POSTs can say application/json) and
 * none nested deeper than `maxDepth`, refused before parsing with 400 instead of a stack
 * overflow further on (validation and serialisation recurse).
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    const json = text as string;
    if (json.trim() === '') return done(null, undefined);
    const depth = nestingDepth(json);
    if (depth > maxDepth) {
      return done(
        Object.assign(new Error(`body: JSON nested ${depth} deep; at most ${maxDepth} levels are accepted`), {
          statusCode: 400,
          code: 'PERFWATCH_BODY_TOO_DEEP',
        }),
      );
    }
    try {
      done(null, JSON.parse(json));
    } catch (error) {
      done(
        Object.assign(new Error(`body is not valid JSON: ${(error as Error).message}`), {
          statusCode: 400,
          code: 'FST_ERR_CTP_INVALID_JSON_BODY',
        }),
      );
    }
  });
}

/** The deepest nesting of arrays and objects, brackets inside strings not counted. */
export function nestingDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).send(body(code, message, {}));
}

function isMutating(request: FastifyRequest): boolean {
  return request.method !== 'GET' && request.method !== 'HEAD' && request.method !== 'OPTIONS';
}

function crossSite(request: FastifyRequest): boolean {
  // same-site is another port or subdomain of this site: for a loopback API, another local app.
  const site = request.headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}

function sameOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
  } catch {
    return false; // "null" (a sandboxed frame, a file: page) and anything unparsable
  }
}

/**
 * No content type, or one an HTML form or a CORS "simple request" may send without asking the
 * server first; every other type (JSON, YAML) makes a browser send a preflight.
 */
function formCanSend(contentType: string | undefined): boolean {
  if (contentType === undefined || contentType.trim() === '') return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data' || type === 'text/plain'
  );
}

/** The host name of a Host header, without its port and brackets, lower-cased. */
function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  const colon = host.lastIndexOf(':');
  const name = colon >= 0 && host.indexOf(':') === colon ? host.slice(0, colon) : host;
  return name.toLowerCase();
}
