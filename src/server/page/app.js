// The perfwatch dashboard: one GET dashboard per refresh (every panel's series and the side
// panels), refreshed when the SSE stream reports a collection, an alert change or a regression.
// Everything it loads comes from this server; uPlot is served from the package's node_modules.
const API = '/api/performance';
const COLORS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f'];

const state = {
  range: '1h',
  service: '',
  charts: new Map(),
  // The regressions panel's charts, by their box.
  miniCharts: new Map(),
  refreshing: false,
  again: false,
};
const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJson(path, init = {}) {
  const response = await fetch(`${API}${path}`, {
    ...init,
    headers: { accept: 'application/json', ...init.headers },
  });
  const body = await response.json();
  if (body.status !== 'success') throw new Error(body.error?.message ?? `HTTP ${response.status}`);
  return body.data;
}

function postJson(path, payload) {
  return getJson(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
}

function format(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const fixed = (n, digits) => Number(n.toFixed(digits)).toString();
  switch (unit) {
    case 'ratio':
      return `${fixed(value * 100, 1)} %`;
    case 'By':
    case 'By/s': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let n = value;
      let i = 0;
      while (Math.abs(n) >= 1024 && i < units.length - 1) {
        n /= 1024;
        i++;
      }
      return `${fixed(n, 1)} ${units[i]}${unit === 'By/s' ? '/s' : ''}`;
    }
    case 's':
      return value < 1 ? `${fixed(value * 1000, 1)} ms` : `${fixed(value, 2)} s`;
    case '1/s':
      return `${fixed(value, 2)}/s`;
    default:
      return fixed(value, 2);
  }
}

function query() {
  const params = new URLSearchParams({ range: state.range, series: 'true' });
  if (state.service) params.set('service_name', state.service);
  return `?${params}`;
}

async function refresh() {
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = true;
  lastRefreshAt = Date.now();
  try {
    const data = await getJson(`/dashboard${query()}`);
    renderPanels(data);
    renderAlerts(data.alerts);
    renderRegressions(data.regressions, data.openRegressions);
    renderDeploys(data.deployVerdicts);
    $('status').textContent =
      `${data.service ?? 'All services'} · ${new Date(data.from).toLocaleString()} – ${new Date(data.to).toLocaleString()} · ` +
      `${data.stepSeconds} s buckets · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $('status').textContent = `Could not load the dashboard: ${error.message}`;
  } finally {
    state.refreshing = false;
    if (state.again) {
      state.again = false;
      refresh();
    }
  }
}

function renderPanels(data) {
  const container = $('panels');
  const seen = new Set();
  for (const panel of data.panels) {
    seen.add(panel.id);
    let card = container.querySelector(`[data-panel="${panel.id}"]`);
    if (!card) {
      card = el(
        'div',
        { class: 'card', 'data-panel': panel.id },
        el(
          'h2',
          {},
          el('span', {}, panel.title, el('span', { class: 'step' })),
          el('span', { class: 'value' }),
        ),
        el('div', { class: 'chart' }),
      );
      container.append(card);
    }
    const summary = panel.summary;
    card.querySelector('.value').textContent = panel.available
      ? `${format(summary.current, panel.unit)} · avg ${format(summary.avg, panel.unit)} · ${summary.trend ?? ''}`
      : '';
    card.querySelector('.step').textContent =
      panel.available && panel.stepSeconds !== data.stepSeconds ? `${panel.stepSeconds} s buckets` : '';
    const chartBox = card.querySelector('.chart');
    const old = state.charts.get(panel.id);
    if (!panel.available) {
      old?.destroy();
      state.charts.delete(panel.id);
      chartBox.replaceChildren(el('div', { class: 'empty' }, panel.emptyHint));
      continue;
    }
    // A panel whose series are collected less often than the dashboard's buckets has its own.
    const seriesData = [panel.times ?? data.times, ...panel.series.map((series) => series.values)];
    const labels = panel.series.map((series) => series.label).join('|');
    if (old && old.labels === labels) {
      old.chart.setData(seriesData);
      continue;
    }
    old?.destroy();
    chartBox.replaceChildren();
    const chart = new uPlot(chartOptions(panel, chartBox.clientWidth || 360), seriesData, chartBox);
    state.charts.set(panel.id, { chart, labels, destroy: () => chart.destroy() });
  }
  for (const [id, entry] of state.charts) {
    if (!seen.has(id)) {
      entry.destroy();
      state.charts.delete(id);
    }
  }
}

function chartOptions(panel, width) {
  return {
    width,
    height: 170,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
    axes: [{}, { size: 80, values: (_u, ticks) => ticks.map((tick) => format(tick, panel.unit)) }],
    series: [
      {},
      ...panel.series.map((series, i) => ({
        label: series.label,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        gaps: longGaps,
        points: {
          // Sparse series (a fresh history) show every value as a dot; others the values that
          // no line reaches.
          show: series.values.filter((value) => value !== null).length < 30,
          filter: (u, seriesIndex, show) => (show ? null : loneValues(u.data[seriesIndex])),
          size: 5,
        },
        value: (_u, value) => format(value, panel.unit),
      })),
    ],
  };
}

// Gaps. The server's buckets are no narrower than a series' own collection interval, so an empty
// bucket between two values means an export came late or was missed once: the line joins it.
// Two or more empty buckets in a row are a gap in the data, and the line breaks there; a value
// with such gaps on both sides (or the range's edge) is drawn as a dot.

/** uPlot's `gaps` for a series: the runs of two or more empty buckets, in canvas pixels. */
function longGaps(u, seriesIndex, idx0, idx1) {
  const times = u.data[0];
  const values = u.data[seriesIndex];
  const gaps = [];
  for (let i = idx0; i <= idx1; i++) {
    if (values[i] != null) continue;
    let end = i;
    while (end < idx1 && values[end + 1] == null) end++;
    // From the value before to the value after, as uPlot's own gaps (idx0 and idx1 hold values).
    if (end > i) {
      gaps.push([
        Math.round(u.valToPos(times[i - 1], 'x', true)),
        Math.round(u.valToPos(times[end + 1], 'x', true)),
      ]);
    }
    i = end;
  }
  return gaps;
}

/** Indices of the values that longGaps leaves without a line: no value within two buckets. */
function loneValues(values) {
  const present = (i) => i >= 0 && i < values.length && values[i] != null;
  const lone = [];
  for (let i = 0; i < values.length; i++) {
    if (present(i) && !present(i - 1) && !present(i - 2) && !present(i + 1) && !present(i + 2)) lone.push(i);
  }
  return lone.length > 0 ? lone : null;
}

function renderAlerts(alerts) {
  const list = $('alerts');
  const firing = alerts.filter((alert) => alert.state === 'firing');
  const pending = alerts.filter((alert) => alert.state === 'pending');
  if (firing.length === 0 && pending.length === 0) {
    list.replaceChildren(el('li', { class: 'empty' }, 'No alert is firing.'));
    return;
  }
  list.replaceChildren(
    ...[...firing, ...pending].map((alert) =>
      el(
        'li',
        {},
        el(
          'span',
          { class: `badge ${alert.state === 'firing' ? alert.severity : 'pending'}` },
          alert.state === 'firing' ? alert.severity : 'pending',
        ),
        el('strong', {}, alert.rule),
        el(
          'div',
          { class: 'muted' },
          `${labelsText(alert.labels)} value ${alert.value === null ? '–' : Number(alert.value.toPrecision(3))}`,
        ),
      ),
    ),
  );
}

function renderRegressions(regressions, total) {
  const list = $('regressions');
  for (const chart of state.miniCharts.values()) chart.destroy();
  state.miniCharts.clear();
  if (regressions.length === 0) {
    list.replaceChildren(
      el(
        'li',
        { class: 'empty' },
        'No open regression. Regression checks run every 10 minutes over the last 24 h.',
      ),
    );
    return;
  }
  list.replaceChildren(
    ...regressions.slice(0, 10).map((record) => {
      const mini = el('div', { class: 'mini' });
      const item = el(
        'li',
        { 'data-regression': record.id },
        el('span', { class: `badge ${record.severity}` }, record.severity),
        el('strong', {}, record.metric),
        el('div', {}, record.explanation),
        el(
          'div',
          { class: 'muted' },
          `${record.service ?? ''} changed ${new Date(record.changeTime).toLocaleString()}`,
        ),
        mini,
      );
      drawRegression(record.id, mini);
      return item;
    }),
    ...(total > 10 ? [el('li', { class: 'muted' }, `${total - 10} more: GET ${API}/regressions`)] : []),
  );
}

/** The series around the change point, the baseline and current windows shaded. */
async function drawRegression(id, box) {
  try {
    const record = await getJson(`/regressions/${encodeURIComponent(id)}`);
    const context = record.context;
    if (!context) return;
    const unit = { By: 'By', s: 's', 1: 'ratio' }[record.unit] ?? '';
    const times = context.points.map((point) => Date.parse(point.time) / 1000);
    const values = context.points.map((point) => point.value);
    const shade = (u, window, color) => {
      const left = u.valToPos(Date.parse(window.from) / 1000, 'x', true);
      const right = u.valToPos(Date.parse(window.to) / 1000, 'x', true);
      u.ctx.fillStyle = color;
      u.ctx.fillRect(left, u.bbox.top, right - left, u.bbox.height);
    };
    const chart = new uPlot(
      {
        width: box.clientWidth || 300,
        height: 110,
        legend: { show: false },
        cursor: { show: false },
        axes: [
          { size: 24, font: '10px sans-serif' },
          {
            size: 64,
            font: '10px sans-serif',
            values: (_u, ticks) => ticks.map((tick) => format(tick, unit)),
          },
        ],
        series: [{}, { stroke: '#c62828', width: 1.2 }],
        hooks: {
          drawClear: [
            (u) => {
              shade(u, context.baseline, 'rgba(21, 101, 192, 0.12)');
              shade(u, context.current, 'rgba(198, 40, 40, 0.12)');
            },
          ],
        },
      },
      [times, values],
      box,
    );
    // The list was drawn again while this record loaded: its box is gone.
    if (box.isConnected) state.miniCharts.set(box, chart);
    else chart.destroy();
  } catch {
    box.replaceChildren();
  }
}

function renderDeploys(verdicts) {
  const list = $('deploys');
  if (verdicts.length === 0) {
    list.replaceChildren(
      el(
        'li',
        { class: 'empty' },
        'No deploy seen yet: set service.version (OTEL_RESOURCE_ATTRIBUTES) to get a verdict per deploy.',
      ),
    );
    return;
  }
  list.replaceChildren(
    ...verdicts.map((verdict) =>
      el(
        'li',
        {},
        el('span', { class: `badge ${verdict.verdict}` }, verdict.verdict.replace('_', ' ')),
        el('strong', {}, `${verdict.service} ${verdict.versionBefore} → ${verdict.versionAfter}`),
        el('div', {}, verdict.summary),
      ),
    ),
  );
}

async function loadBenchmarks() {
  const list = $('benchmarks');
  let benchmarks;
  try {
    benchmarks = (await getJson('/benchmarks')).benchmarks;
  } catch (error) {
    list.replaceChildren(el('li', { class: 'empty' }, `Could not load the benchmarks: ${error.message}`));
    return;
  }
  if (benchmarks.length === 0) {
    list.replaceChildren(
      el(
        'li',
        { class: 'empty' },
        `No benchmark yet: capture one with perfwatch benchmark create NAME, or POST ${API}/benchmarks {"name": …}.`,
      ),
    );
    return;
  }
  // Items already shown keep their last comparison.
  const shown = new Map(
    [...list.querySelectorAll('li[data-benchmark]')].map((li) => [li.dataset.benchmark, li]),
  );
  list.replaceChildren(
    ...benchmarks.map((benchmark) => {
      const existing = shown.get(benchmark.name);
      if (existing) return existing;
      const result = el('div', { class: 'compare-result' });
      const button = el('button', { type: 'button', class: 'compare' }, 'Compare with now');
      button.addEventListener('click', () => compareBenchmark(benchmark.name, button, result));
      return el(
        'li',
        { 'data-benchmark': benchmark.name },
        el('strong', {}, benchmark.name),
        el(
          'div',
          { class: 'muted' },
          `${new Date(benchmark.from).toLocaleString()} – ${new Date(benchmark.to).toLocaleString()} · ` +
            `${benchmark.seriesCount} series${benchmark.services.length ? ` · ${benchmark.services.join(', ')}` : ''}`,
        ),
        button,
        result,
      );
    }),
  );
}

/** The benchmark against the last window of its own length: the counts per verdict and the largest changes. */
async function compareBenchmark(name, button, result) {
  button.disabled = true;
  result.replaceChildren(el('span', { class: 'muted' }, 'comparing…'));
  try {
    const comparison = await postJson(`/benchmarks/${encodeURIComponent(name)}/compare`, {});
    const { summary } = comparison;
    const notable = comparison.series
      .filter((series) => series.verdict === 'degraded' || series.verdict === 'improved')
      .slice(0, 5);
    result.replaceChildren(
      el(
        'div',
        {},
        ...['degraded', 'improved', 'stable', 'insufficient_data'].map((verdict) =>
          el('span', { class: `badge ${verdict}` }, `${summary[verdict]} ${verdict.replace('_', ' ')}`),
        ),
      ),
      ...notable.map((series) =>
        el(
          'div',
          { class: 'muted' },
          `${series.verdict}: ${series.metric} ${series.statistic}${series.service ? ` (${series.service})` : ''} ` +
            `${series.changePercent >= 0 ? '+' : ''}${Number(series.changePercent.toFixed(1))} %`,
        ),
      ),
    );
  } catch (error) {
    result.replaceChildren(el('span', { class: 'muted' }, `Compare failed: ${error.message}`));
  } finally {
    button.disabled = false;
  }
}

function labelsText(labels) {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
}

/** Adds services that appeared since the last look (a central perfwatch keeps receiving new ones). */
async function loadServices() {
  try {
    const data = await getJson('/services');
    const select = $('service');
    const known = new Set([...select.options].map((option) => option.value));
    for (const service of data.services) {
      if (!known.has(service.name)) select.append(el('option', { value: service.name }, service.name));
    }
  } catch {
    // The selector keeps "all services"; the dashboard itself reports errors.
  }
}

function connect() {
  const live = $('live');
  const source = new EventSource(`${API}/events`);
  source.onopen = () => {
    live.textContent = 'live';
    live.className = 'live on';
  };
  source.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  };
  // Alerts and regressions show at once; collections (every second while a central perfwatch
  // receives) reload the charts at most every few seconds.
  for (const name of ['alert', 'regression']) source.addEventListener(name, () => refresh());
  source.addEventListener('collection', () => throttledRefresh());
  source.addEventListener('collection', () => {
    loadServices();
    loadBenchmarks();
  });
}

const COLLECTION_REFRESH_MILLIS = 5000;
let lastRefreshAt = 0;
let refreshPending = false;

/** A refresh now, or once COLLECTION_REFRESH_MILLIS have passed since the last one. */
function throttledRefresh() {
  if (refreshPending) return;
  const wait = lastRefreshAt + COLLECTION_REFRESH_MILLIS - Date.now();
  if (wait <= 0) {
    refresh();
    return;
  }
  refreshPending = true;
  setTimeout(() => {
    refreshPending = false;
    refresh();
  }, wait);
}

/** Charts are drawn at their box's width: they follow it when the window's size changes. */
function resizeCharts() {
  for (const [id, entry] of state.charts) {
    const box = document.querySelector(`[data-panel="${id}"] .chart`);
    if (box) entry.chart.setSize({ width: box.clientWidth, height: 170 });
  }
  for (const [box, chart] of state.miniCharts) chart.setSize({ width: box.clientWidth, height: 110 });
}

/** `?range=24h&service=checkout` opens the page on that view (a link to share, a bookmark). */
function readLocation() {
  const params = new URLSearchParams(location.search);
  const range = params.get('range');
  if (range && [...$('range').options].some((option) => option.value === range)) state.range = range;
  $('range').value = state.range;
  const service = params.get('service');
  if (service) {
    state.service = service;
    $('service').append(el('option', { value: service }, service));
    $('service').value = service;
  }
}

function writeLocation() {
  const params = new URLSearchParams();
  if (state.range !== '1h') params.set('range', state.range);
  if (state.service) params.set('service', state.service);
  history.replaceState(null, '', params.size > 0 ? `?${params}` : location.pathname);
}

$('range').addEventListener('change', (event) => {
  state.range = event.target.value;
  writeLocation();
  refresh();
});
$('service').addEventListener('change', (event) => {
  state.service = event.target.value;
  writeLocation();
  refresh();
});
window.addEventListener('resize', resizeCharts);
readLocation();
// The charts first: the other requests would queue before them on the server's one read connection.
refresh().finally(() => {
  loadServices();
  loadBenchmarks();
  connect();
});
