import type { Attributes } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';

/**
 * The resource every metric carries: SDK defaults, `OTEL_RESOURCE_ATTRIBUTES`/`OTEL_SERVICE_NAME`,
 * host identity, then the options. The process detector is left out on purpose: its command
 * line can carry secrets, and its pid would start new series at every restart.
 */
export function createResource(serviceName: string | undefined, attributes: Readonly<Attributes>): Resource {
  const explicit: Attributes = { ...attributes };
  if (serviceName !== undefined) explicit['service.name'] = serviceName;
  return defaultResource()
    .merge(detectResources({ detectors: [envDetector, hostDetector] }))
    .merge(resourceFromAttributes(explicit));
}
