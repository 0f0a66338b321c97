import type { FastifyInstance } from 'fastify';
import { alertEventsSince, ruleStates } from '../../store/alertEvents.js';
import { HOURS } from '../requestParameters.js';
import { ok, type ServerContext } from '../ServerContext.js';

/** `GET alerts`, `GET alerts/history`, `GET rules`. */
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
}
