import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../ServerContext.js';

/** `GET events`: the Server-Sent Events stream of collections, alert transitions and new regressions. */
export function eventsRoute(app: FastifyInstance, context: ServerContext): void {
  app.get(
    '/events',
    {
      schema: {
        summary:
          'Server-Sent Events: `collection` after every written collection (under serve: at most once a second while received points are written), `alert` per alert state change, `regression` per new regression',
        tags: ['service'],
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      reply.hijack();
      await context.events.attach(reply.raw);
      request.raw.on('close', () => reply.raw.end());
    },
  );
}
