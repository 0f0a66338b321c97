import type { Meter } from '@opentelemetry/api';
import type { ActiveCount } from '../analysis/RegressionProcessor.js';

/**
 * `perfwatch.regressions.active{severity, service}`: open regressions as an OTel gauge, so
 * Prometheus and OTLP backends see them. `services` report 0 for warning and critical from the
 * start, and a (severity, service) that had regressions reports 0 once they resolve, rather than
 * vanishing: dashboards show a zero and alert rules see the drop. Returns the unregister function.
 */
export function registerRegressionGauge(
  meter: Meter,
  activeCounts: () => readonly ActiveCount[],
  services: readonly string[] = [],
): () => void {
  const gauge = meter.createObservableGauge('perfwatch.regressions.active', {
    description: 'Open performance regressions found by perfwatch, by severity and service',
    unit: '{regression}',
  });
  const reported = new Map<string, { severity: string; service: string }>();
  for (const service of services) {
    for (const severity of ['warning', 'critical'])
      reported.set(`${severity}\u0000${service}`, { severity, service });
  }
  const callback = (result: { observe(value: number, attributes: Record<string, string>): void }) => {
    const current = new Map<string, number>();
    for (const count of activeCounts()) {
      const key = `${count.severity}\u0000${count.service}`;
      reported.set(key, { severity: count.severity, service: count.service });
      current.set(key, count.count);
    }
    for (const [key, attributes] of reported) result.observe(current.get(key) ?? 0, attributes);
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}
