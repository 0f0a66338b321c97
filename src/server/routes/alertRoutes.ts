import type { FastifyInstance } from 'fastify';
import { alertEventsSince, ruleStates } from '../../store/alertEvents.js';
import { HOURS } from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

/** Media types PUT rules reads as YAML text (JSON bodies are parsed by fastify). */
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** `GET alerts`, `GET alerts/history`, `GET rules`, `PUT rules`. */
export function alertRoutes(app: FastifyInstance, context: ServerContext): void {
  const { perfwatch } = context;
  const iso = (millis: number | undefined) => (millis === undefined ? null : new Date(millis).toISOString());

  app.get<{ Querystring: { state?: string } }>(
    '/alerts',
    {
      schema: {
        summary: 'Alert series and their state now (firing first), and every rule’s summary',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['inactive', 'pending', 'firing', 'nodata'] } },
        },
      },
    },
    async (request) => {
      const order = ['firing', 'pending', 'nodata', 'inactive'];
      const alerts = (perfwatch.alerts?.statuses() ?? [])
        .filter((status) => request.query.state === undefined || status.state === request.query.state)
        .sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || a.rule.localeCompare(b.rule))
        .map((status) => ({ ...status, activeAt: iso(status.activeAt), firedAt: iso(status.firedAt) }));
      return ok({
        evaluating: perfwatch.alerts !== undefined,
        firing: alerts.filter((alert) => alert.state === 'firing').length,
        alerts,
        rules: await ruleStates(perfwatch.store),
      });
    },
  );

  app.get<{ Querystring: { hours: number; rule?: string } }>(
    '/alerts/history',
    {
      schema: {
        summary: 'Alert transitions in the window, oldest first',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hours: HOURS(24),
            rule: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 256 },
          },
        },
      },
    },
    async (request) => {
      const since = new Date(context.now() - request.query.hours * 3_600_000);
      const events = await alertEventsSince(perfwatch.store, since, request.query.rule);
      return ok({
        hours: request.query.hours,
        events: events.map((event) => ({
          ...event,
          time: new Date(event.time).toISOString(),
          activeAt: iso(event.activeAt),
          firedAt: iso(event.firedAt),
        })),
      });
    },
  );

  app.get(
    '/rules',
    {
      schema: {
        summary:
          'The alert rules in use (default rules and the rules file), with state, trigger count, last triggered',
        tags: ['alerts'],
      },
    },
    async () => {
      const states = new Map((await ruleStates(perfwatch.store)).map((state) => [state.rule, state]));
      return ok({
        rules: perfwatch.alertRules.map((rule) => {
          const state = states.get(rule.name);
          return {
            ...rule,
            metric:
              rule.query.kind === 'selector' ? rule.query.selector.metric : rule.query.denominator.metric,
            service:
              (rule.query.kind === 'selector' ? rule.query.selector.where['service.name'] : undefined) ??
              null,
            state: state?.state ?? (rule.enabled ? 'inactive' : 'disabled'),
            triggerCount: state?.triggerCount ?? 0,
            lastTriggered: state?.lastTriggered ?? null,
          };
        }),
      });
    },
  );

  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, text, done) => done(null, text));
  app.put<{ Body: unknown }>(
    '/rules',
    {
      schema: {
        summary:
          'Replace the rules file’s rules with a rules document (YAML as text/yaml, or JSON); default rules stay unless overridden by name',
        description:
          'Validated as a rules file is (400 naming the rule and the field; nothing changes). Written to the rules file when perfwatch was started with one (`persisted`), so restarts and SIGHUP reloads keep it; otherwise in force until the process stops. Rules whose name persists keep their alert state; removed rules resolve their alerts.',
        tags: ['alerts'],
      },
    },
    async (request) => {
      const document = typeof request.body === 'string' ? request.body : JSON.stringify(request.body ?? null);
      const { rules, persisted } = await perfwatch.replaceAlertRules(document);
      return ok({ persisted, rules: rules.map((rule) => rule.name) });
    },
  );
}
