import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * The Grafana dashboard for perfwatch's Prometheus endpoint, as code. `npm run dashboard` writes
 * it to monitoring/grafana/perfwatch-dashboard.json; a test regenerates it and compares, and the
 * end-to-end test runs every query against a real Prometheus scraping perfwatch.
 *
 * Names are those perfwatch's own endpoint exposes (`_total` on counters, no unit suffixes), in
 * the scrape job `perfwatch` of monitoring/prometheus.yml. Resource attributes live on
 * `target_info`, so the service variable selects instances through it and every panel filters
 * on `instance`.
 */

const datasource = { type: 'prometheus', uid: `\${datasource}` };
/** The selector every query starts from. */
const target = 'job="perfwatch", instance=~"$instance"';

interface Query {
  expr: string;
  legend: string;
}

function addQueries(panel: TimeseriesPanelBuilder | StatPanelBuilder, list: readonly Query[]): void {
  list.forEach((query, index) => {
    panel.withTarget(
      new DataqueryBuilder()
        .datasource(datasource)
        .expr(query.expr)
        .legendFormat(query.legend)
        .refId(String.fromCharCode(65 + index)),
    );
  });
}

function timeseries(
  title: string,
  description: string,
  unit: string,
  list: readonly Query[],
): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .fillOpacity(10)
    .height(8)
    .span(8);
  addQueries(panel, list);
  return panel;
}

function stat(title: string, description: string, list: readonly Query[]): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit('none')
    .noValue('0')
    .height(8)
    .span(12);
  addQueries(panel, list);
  return panel;
}

const rate = (selector: string) => `rate(${selector}[$__rate_interval])`;

/** Builds the dashboard model (the same object every time). */
export function perfwatchDashboard(): Dashboard {
  const builder = new DashboardBuilder('perfwatch')
    .uid('perfwatch')
    .description(
      "Host, Node.js service and HTTP performance from perfwatch's Prometheus endpoint, plus perfwatch's own alerts, regressions and health.",
    )
    .tags(['perfwatch', 'opentelemetry', 'nodejs'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('service')
        .label('Service')
        .datasource(datasource)
        .query('label_values(target_info{job="perfwatch"}, service_name)')
        .definition('label_values(target_info{job="perfwatch"}, service_name)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(datasource)
        .query('label_values(target_info{job="perfwatch", service_name=~"$service"}, instance)')
        .definition('label_values(target_info{job="perfwatch", service_name=~"$service"}, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true),
    );

  builder
    .withRow(new RowBuilder('Host'))
    .withPanel(
      timeseries(
        'System CPU utilization',
        'Busy fraction of all logical CPUs, from the cumulative CPU-time counter.',
        'percentunit',
        [
          {
            expr: `1 - sum by (instance) (${rate(`system_cpu_time_total{${target}, system_cpu_state="idle"}`)}) / sum by (instance) (${rate(`system_cpu_time_total{${target}}`)})`,
            legend: '{{instance}}',
          },
        ],
      ).max(1),
    )
    .withPanel(
      timeseries('System memory', 'Physical memory by state.', 'bytes', [
        {
          expr: `sum by (instance, system_memory_state) (system_memory_usage{${target}})`,
          legend: '{{instance}} {{system_memory_state}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Load average', 'Runnable and waiting tasks, averaged over 1, 5 and 15 minutes.', 'short', [
        { expr: `system_cpu_load_average_1m{${target}}`, legend: '{{instance}} 1m' },
        { expr: `system_cpu_load_average_5m{${target}}`, legend: '{{instance}} 5m' },
        { expr: `system_cpu_load_average_15m{${target}}`, legend: '{{instance}} 15m' },
      ]),
    )
    .withPanel(
      timeseries('Network I/O', 'Bytes per second by direction, all interfaces.', 'Bps', [
        {
          expr: `sum by (instance, network_io_direction) (${rate(`system_network_io_total{${target}}`)})`,
          legend: '{{instance}} {{network_io_direction}}',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'Disk usage',
        'Fraction of the filesystem holding the perfwatch history that is in use.',
        'percentunit',
        [
          {
            expr: `system_filesystem_utilization{${target}}`,
            legend: '{{instance}} {{system_filesystem_mountpoint}}',
          },
        ],
      ).max(1),
    )
    .withRow(new RowBuilder('Service process'))
    .withPanel(
      timeseries('Service CPU', 'CPU seconds per second used by the process (1 = one core).', 'percentunit', [
        {
          expr: `sum by (instance) (${rate(`process_cpu_time_total{${target}}`)})`,
          legend: '{{instance}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Service memory', 'Resident set size and V8 heap in use.', 'bytes', [
        { expr: `process_memory_usage{${target}}`, legend: '{{instance}} RSS' },
        { expr: `sum by (instance) (v8js_memory_heap_used{${target}})`, legend: '{{instance}} heap used' },
      ]),
    )
    .withPanel(
      timeseries('Threads', 'Threads of the process.', 'short', [
        { expr: `process_thread_count{${target}}`, legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries('Open files', 'Open file descriptors of the process.', 'short', [
        { expr: `process_open_file_descriptor_count{${target}}`, legend: '{{instance}}' },
      ]),
    )
    .withPanel(
      timeseries(
        'Event loop delay',
        'p50 and p99 event-loop delay (they include the 10 ms sampling resolution).',
        's',
        [
          { expr: `nodejs_eventloop_delay_p50{${target}}`, legend: '{{instance}} p50' },
          { expr: `nodejs_eventloop_delay_p99{${target}}`, legend: '{{instance}} p99' },
        ],
      ),
    )
    .withPanel(
      timeseries('Event loop utilization', 'Fraction of time the event loop was busy.', 'percentunit', [
        { expr: `nodejs_eventloop_utilization{${target}}`, legend: '{{instance}}' },
      ]).max(1),
    )
    .withRow(new RowBuilder('HTTP server'))
    .withPanel(
      timeseries(
        'Response times',
        'Percentiles of http.server.request.duration, interpolated within histogram buckets.',
        's',
        [0.5, 0.95, 0.99].map((quantile) => ({
          expr: `histogram_quantile(${quantile}, sum by (instance, le) (${rate(`http_server_request_duration_bucket{${target}}`)}))`,
          legend: `{{instance}} p${quantile * 100}`,
        })),
      ),
    )
    .withPanel(
      timeseries('Request rate', 'Requests per second by method and route.', 'reqps', [
        {
          expr: `sum by (instance, http_request_method, http_route) (${rate(`http_server_request_duration_count{${target}}`)})`,
          legend: '{{instance}} {{http_request_method}} {{http_route}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Error rate', 'Fraction of requests answered with a 5xx status.', 'percentunit', [
        {
          expr: `sum by (instance) (${rate(`http_server_request_duration_count{${target}, http_response_status_code=~"5.."}`)}) / sum by (instance) (${rate(`http_server_request_duration_count{${target}}`)})`,
          legend: '{{instance}}',
        },
      ]),
    )
    .withRow(new RowBuilder('perfwatch'))
    .withPanel(
      stat('Active alerts', 'perfwatch alert rules currently firing, by rule and severity.', [
        {
          expr: `sum by (alertname, severity) (perfwatch_alerts_active{${target}})`,
          legend: '{{alertname}} ({{severity}})',
        },
      ]),
    )
    .withPanel(
      stat('Open regressions', 'Performance regressions perfwatch has detected and not yet closed.', [
        {
          expr: `sum by (service, severity) (perfwatch_regressions_active{${target}})`,
          legend: '{{service}} ({{severity}})',
        },
      ]),
    )
    .withPanel(
      timeseries('History writes', 'Data points per second written to the DuckDB history.', 'short', [
        {
          expr: `sum by (instance) (${rate(`perfwatch_store_points_written_total{${target}}`)})`,
          legend: '{{instance}} points/s',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'Collection duration',
        'p95 time to collect all instruments and write a collection to DuckDB.',
        's',
        [
          {
            expr: `histogram_quantile(0.95, sum by (instance, le) (${rate(`perfwatch_collection_duration_bucket{${target}}`)}))`,
            legend: '{{instance}} p95',
          },
        ],
      ),
    )
    .withPanel(
      timeseries('History size', 'Size of the DuckDB file and its write-ahead log.', 'bytes', [
        { expr: `perfwatch_store_size{${target}}`, legend: '{{instance}}' },
      ]),
    );

  const dashboard = builder.build();
  // Stable panel ids in layout order (rows included), so the committed JSON never churns.
  dashboard.panels?.forEach((panel, index) => {
    panel.id = index + 1;
  });
  return dashboard;
}

/** The committed file's content: stable key order from the builder, two-space indent. */
export function perfwatchDashboardJson(): string {
  return `${JSON.stringify(perfwatchDashboard(), null, 2)}\n`;
}
