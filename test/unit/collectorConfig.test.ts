import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * No Collector binary is installable here, so the shipped Collector configurations are checked
 * structurally: what `otelcol validate` would reject first (undefined components), plus the
 * rules these files promise in their headers.
 */
const dir = fileURLToPath(new URL('../../collector-config/', import.meta.url));

type Section = Record<string, Record<string, unknown> | null>;
interface CollectorConfig {
  receivers: Section;
  processors: Section;
  exporters: Section;
  extensions?: Section;
  service: {
    extensions?: string[];
    pipelines: Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  };
}

async function load(file: string): Promise<{ text: string; config: CollectorConfig }> {
  const text = await readFile(`${dir}${file}`, 'utf8');
  return { text, config: parse(text) as CollectorConfig };
}

/** `otlphttp/perfwatch` is a component of type `otlphttp` named `perfwatch`. */
const typeOf = (id: string) => id.split('/')[0]!;

/** The Collector's environment-variable reference, `${env:NAME}`. */
const fromEnvironment = (name: string) => `\${env:${name}}`;

/** A dotted path into a parsed YAML value. */
function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
}

function exporterOfType(config: CollectorConfig, type: string): Record<string, unknown> {
  const id = Object.keys(config.exporters).find((key) => typeOf(key) === type);
  expect(id, `an exporter of type ${type}`).toBeDefined();
  return config.exporters[id!] ?? {};
}

describe.each(['agent.yaml', 'gateway.yaml'])('collector-config/%s', (file) => {
  it('starts with a comment header saying when to use it', async () => {
    const { text } = await load(file);
    const header = text.slice(0, text.search(/^[a-z]/m));
    expect(header.split('\n').every((line) => line === '' || line.startsWith('#'))).toBe(true);
    expect(header).toMatch(/When to use it:/);
    expect(header).toMatch(/otelcol(-contrib)? validate --config=collector-config\//);
  });

  it('defines every component a pipeline or the service references', async () => {
    const { config } = await load(file);
    const pipelines = Object.entries(config.service.pipelines);
    expect(pipelines.length).toBeGreaterThan(0);
    for (const [name, pipeline] of pipelines) {
      expect(pipeline.receivers.length, `${name} receivers`).toBeGreaterThan(0);
      expect(pipeline.exporters.length, `${name} exporters`).toBeGreaterThan(0);
      for (const id of pipeline.receivers) expect(config.receivers, `${name}: ${id}`).toHaveProperty([id]);
      for (const id of pipeline.processors ?? [])
        expect(config.processors, `${name}: ${id}`).toHaveProperty([id]);
      for (const id of pipeline.exporters) expect(config.exporters, `${name}: ${id}`).toHaveProperty([id]);
    }
    for (const id of config.service.extensions ?? []) expect(config.extensions ?? {}).toHaveProperty([id]);
  });

  it('runs memory_limiter first and batch after it in every pipeline, and no cumulativetodelta', async () => {
    const { config } = await load(file);
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      const types = (pipeline.processors ?? []).map(typeOf);
      expect(types[0], name).toBe('memory_limiter');
      expect(types.indexOf('batch'), name).toBeGreaterThan(0);
      // Remote write drops delta sums and histograms: the pipeline must stay cumulative.
      expect(types, name).not.toContain('cumulativetodelta');
    }
    expect(Object.keys(config.processors).map(typeOf)).not.toContain('cumulativetodelta');
    const limiter = config.processors.memory_limiter!;
    expect(limiter.check_interval).toBe('1s');
    expect(limiter.limit_percentage).toBeGreaterThan(0);
    expect(limiter.spike_limit_percentage).toBeLessThan(limiter.limit_percentage as number);
  });

  it('binds every receiver endpoint to loopback', async () => {
    const { config } = await load(file);
    const endpoints = Object.values(config.receivers).flatMap((receiver) =>
      Object.values((receiver?.protocols ?? {}) as Record<string, { endpoint?: string }>).map(
        (protocol) => protocol.endpoint,
      ),
    );
    expect(endpoints).toEqual(['127.0.0.1:4317', '127.0.0.1:4318']);
  });

  it('fans out to Prometheus remote write (resources as labels) and to perfwatch serve over OTLP/HTTP', async () => {
    const { config } = await load(file);
    const exported = Object.values(config.service.pipelines).flatMap((pipeline) =>
      pipeline.exporters.map(typeOf),
    );
    expect(new Set(exported)).toEqual(new Set(['prometheusremotewrite', 'otlphttp']));
    const remoteWrite = exporterOfType(config, 'prometheusremotewrite');
    expect(remoteWrite.endpoint).toBe(fromEnvironment('PROMETHEUS_REMOTE_WRITE_URL'));
    expect(at(remoteWrite, 'resource_to_telemetry_conversion.enabled')).toBe(true);
    // The generic sending_queue is not supported by this exporter (it has remote_write_queue).
    expect(remoteWrite).not.toHaveProperty('sending_queue');
    // Not the agent's own receiver (127.0.0.1:4318): the endpoint comes from the environment.
    expect(exporterOfType(config, 'otlphttp').endpoint).toBe(fromEnvironment('PERFWATCH_SERVE_ENDPOINT'));
  });

  it('documents every environment variable it reads in collector-config/README.md', async () => {
    const { text } = await load(file);
    const readme = await readFile(`${dir}README.md`, 'utf8');
    const variables = [...text.matchAll(/\$\{env:([A-Z_]+)\}/g)].map((match) => match[1]!);
    expect(variables.length).toBeGreaterThan(0);
    for (const variable of variables) expect(readme).toContain(`\`${variable}\``);
  });
});

describe('collector-config/gateway.yaml', () => {
  it('queues and retries on both exporters', async () => {
    const { config } = await load('gateway.yaml');
    const otlp = exporterOfType(config, 'otlphttp');
    expect(at(otlp, 'sending_queue.enabled')).toBe(true);
    expect(at(otlp, 'retry_on_failure.enabled')).toBe(true);
    const remoteWrite = exporterOfType(config, 'prometheusremotewrite');
    expect(at(remoteWrite, 'remote_write_queue.enabled')).toBe(true);
    expect(at(remoteWrite, 'retry_on_failure.enabled')).toBe(true);
  });
});
