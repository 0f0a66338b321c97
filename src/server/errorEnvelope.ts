import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  BenchmarkError,
  ConfigError,
  PerfWatchError,
  QueryError,
  RuleError,
  ShutdownError,
  SqlError,
  SqlMemoryLimitError,
  SqlRefusedError,
  SqlTimeoutError,
  StoreLockedError,
} from '../errors.js';
import type { Logger } from '../logging/Logger.js';
import { HttpError, notFound } from './HttpError.js';

export interface ErrorBody {
  readonly status: 'error';
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Record<string, unknown>;
  };
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Every failure leaves as `{"status":"error","error":{code,message,details}}`: schema violations
 * as 400 naming the field and the rule, perfwatch's own errors by their class, unknown routes as
 * 404, and only a genuine bug as 500 (logged, with no internals in the answer).
 */
export function installErrorEnvelope(app: FastifyInstance, logger: Logger): void {
  app.setNotFoundHandler((request, reply) => {
    const error = notFound(`${request.method} ${request.url.split('?')[0]}`, {
      hint: 'the API lives under /api/performance; its routes are listed in /api/performance/openapi.json',
    });
    void reply.code(404).send(body(error.code, error.message, error.details));
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, envelope } = describe(error);
    if (status >= 500) logger.error({ err: error, url: request.url }, 'API request failed');
    void reply.code(status).send(envelope);
  });
}

function describe(error: FastifyError): { status: number; envelope: ErrorBody } {
  if (error.validation) {
    const first = error.validation[0] as AjvError | undefined;
    const location = error.validationContext ?? 'request';
    const field = first ? fieldOf(first) : '';
    const rule = first?.keyword ?? 'schema';
    const message = `${location}${field ? `.${field}` : ''}: ${first?.message ?? 'is invalid'}${ruleHint(first)}`;
    return {
      status: 400,
      envelope: body('PERFWATCH_REQUEST_INVALID', message, {
        location,
        field,
        rule,
        ...(first ? { params: first.params } : {}),
      }),
    };
  }
  if (error instanceof HttpError)
    return { status: error.statusCode, envelope: body(error.code, error.message, error.details) };
  if (error instanceof PerfWatchError) return perfwatchError(error);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, envelope: body('PERFWATCH_BODY_TOO_LARGE', error.message, {}) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        envelope: body('PERFWATCH_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json', {}),
      };
  }
  // Fastify's own client errors (malformed JSON, empty JSON body, bad content length): 4xx as they are.
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    return {
      status,
      envelope: body('PERFWATCH_REQUEST_INVALID', error.message, { fastifyCode: error.code }),
    };
  }
  return {
    status: 500,
    envelope: body('PERFWATCH_INTERNAL', 'internal error; the server log has the details', {}),
  };
}

function perfwatchError(error: PerfWatchError): { status: number; envelope: ErrorBody } {
  if (error instanceof QueryError)
    return { status: 400, envelope: body(error.code, error.message, { field: error.argument }) };
  if (error instanceof ConfigError)
    return { status: 400, envelope: body(error.code, error.message, { field: error.setting }) };
  if (error instanceof RuleError)
    return {
      status: 400,
      envelope: body(error.code, error.message, { rule: error.rule, field: error.field }),
    };
  if (error instanceof BenchmarkError) {
    const status = { not_found: 404, exists: 409, no_data: 422, invalid: 400 }[error.problem];
    return { status, envelope: body(error.code, error.message, { field: error.field }) };
  }
  if (error instanceof SqlRefusedError) return { status: 403, envelope: body(error.code, error.message, {}) };
  if (error instanceof SqlError || error instanceof SqlTimeoutError || error instanceof SqlMemoryLimitError)
    return { status: 400, envelope: body(error.code, error.message, {}) };
  if (error instanceof StoreLockedError || error instanceof ShutdownError)
    return { status: 503, envelope: body(error.code, error.message, {}) };
  return { status: 500, envelope: body(error.code, error.message, {}) };
}

/** `attributes.region` from `/attributes/region`, plus the missing or unknown property itself. */
function fieldOf(error: AjvError): string {
  const path = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const extra = (error.params.missingProperty ?? error.params.additionalProperty) as string | undefined;
  return [path, extra].filter(Boolean).join('.');
}

function ruleHint(error: AjvError | undefined): string {
  if (error?.keyword === 'additionalProperties')
    return ` (unknown field "${String(error.params.additionalProperty)}")`;
  if (error?.keyword === 'enum')
    return ` (${(error.params.allowedValues as unknown[]).map(String).join(', ')})`;
  return ` (${error?.keyword ?? 'schema'})`;
}

/**
 * Errors the router raises before any route or hook runs (fastify's `frameworkErrors`): a URL
 * that is not valid percent-encoding, a path parameter over `maxParamLength`. Same envelope.
 */
export function frameworkErrorReply(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void reply
    .code(tooLong ? 414 : 400)
    .send(
      body(
        tooLong ? 'PERFWATCH_URI_TOO_LONG' : 'PERFWATCH_REQUEST_INVALID',
        tooLong ? 'url: a path parameter is too long' : 'url: not a valid URL (malformed percent-encoding)',
        { fastifyCode: error.code },
      ),
    );
}

export function body(code: string, message: string, details: Readonly<Record<string, unknown>>): ErrorBody {
  return { status: 'error', error: { code, message, details: { ...details } } };
}
