import type { Aggregation, LabelMatcher } from '../store/queryTimeSeries.js';

export interface PanelQuery {
  /** Series label; groups add their values after it. */
  readonly label: string;
  readonly metric: string;
  readonly aggregation: Aggregation;
  readonly where?: Readonly<Record<string, string>>;
  readonly matchers?: readonly LabelMatcher[];
  readonly groupBy?: readonly string[];
}

export interface DashboardPanel {
  readonly id: string;
  readonly title: string;
  /** How the page formats values: ratio (shown as %), By, By/s, s, 1/s. */
  readonly unit: 'ratio' | 'By' | 'By/s' | 's' | '1/s' | '';
  readonly queries: readonly PanelQuery[];
  /**
   * `busy`: the first query is an idle share, shown as 1 - value; `ratio`: first query over
   * second, bucket by bucket (a bucket with requests but no errors counts 0).
   */
  readonly combine?: 'busy' | 'ratio';
  /** Shown when the history has no such metric (HTTP metrics need an instrumented server). */
  readonly emptyHint: string;
}

const HTTP = 'http.server.request.duration';
const HTTP_HINT =
  'no HTTP metrics yet: instrument your server with @opentelemetry/instrumentation-http (it records http.server.request.duration)';

/** What the dashboard shows, in order: the original system's panels, from the OTel metric names. */
export const DASHBOARD_PANELS: readonly DashboardPanel[] = [
  {
    id: 'cpu',
    title: 'System CPU',
    unit: 'ratio',
    combine: 'busy',
    queries: [
      {
        label: 'busy',
        metric: 'system.cpu.utilization',
        aggregation: 'avg',
        where: { 'system.cpu.state': 'idle' },
      },
    ],
    emptyHint: 'no system.cpu.utilization yet: host metrics are off or no collection has run',
  },
  {
    id: 'memory',
    title: 'System memory',
    unit: 'ratio',
    queries: [
      {
        label: 'used',
        metric: 'system.memory.utilization',
        aggregation: 'avg',
        where: { 'system.memory.state': 'used' },
      },
    ],
    emptyHint: 'no system.memory.utilization yet: host metrics are off or no collection has run',
  },
  {
    id: 'load',
    title: 'Load average',
    unit: '',
    queries: [{ label: 'load', metric: 'system.cpu.load_average.*', aggregation: 'avg' }],
    emptyHint: 'no load average yet (it is read from /proc/loadavg on Linux)',
  },
  {
    id: 'network',
    title: 'Network',
    unit: 'By/s',
    queries: [
      {
        label: 'network',
        metric: 'system.network.io',
        aggregation: 'rate',
        groupBy: ['network.io.direction'],
      },
    ],
    emptyHint: 'no network counters yet (read from /proc/net/dev on Linux; a rate needs two collections)',
  },
  {
    id: 'process-cpu',
    title: 'Process CPU',
    unit: 'ratio',
    queries: [
      { label: 'cpu', metric: 'process.cpu.utilization', aggregation: 'avg', groupBy: ['process.cpu.state'] },
    ],
    emptyHint: 'no process.cpu.utilization yet',
  },
  {
    id: 'process-memory',
    title: 'Process memory (RSS)',
    unit: 'By',
    queries: [{ label: 'rss', metric: 'process.memory.usage', aggregation: 'avg' }],
    emptyHint: 'no process.memory.usage yet',
  },
  {
    id: 'event-loop',
    title: 'Event-loop delay',
    unit: 's',
    queries: [
      { label: 'p50', metric: 'nodejs.eventloop.delay.p50', aggregation: 'avg' },
      { label: 'p99', metric: 'nodejs.eventloop.delay.p99', aggregation: 'avg' },
    ],
    emptyHint: 'no event-loop delay yet: runtime metrics are off, or the first samples are still being taken',
  },
  {
    id: 'http-rate',
    title: 'HTTP requests',
    unit: '1/s',
    queries: [{ label: 'requests/s', metric: HTTP, aggregation: 'rate' }],
    emptyHint: HTTP_HINT,
  },
  {
    id: 'http-latency',
    title: 'HTTP latency',
    unit: 's',
    queries: [
      { label: 'p50', metric: HTTP, aggregation: 'p50' },
      { label: 'p95', metric: HTTP, aggregation: 'p95' },
      { label: 'p99', metric: HTTP, aggregation: 'p99' },
    ],
    emptyHint: HTTP_HINT,
  },
  {
    id: 'http-errors',
    title: 'HTTP error rate (5xx)',
    unit: 'ratio',
    combine: 'ratio',
    queries: [
      {
        label: 'errors',
        metric: HTTP,
        aggregation: 'rate',
        matchers: [{ key: 'http.response.status_code', op: '=~', value: '5..' }],
      },
      { label: 'requests', metric: HTTP, aggregation: 'rate' },
    ],
    emptyHint: HTTP_HINT,
  },
];
