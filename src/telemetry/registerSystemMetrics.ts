import { statfs } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import type {
  BatchObservableResult,
  Meter,
  ObservableGauge,
  ObservableUpDownCounter,
} from '@opentelemetry/api';
import {
  countOpenFileDescriptors,
  mountPointOf,
  parseMountPoints,
  parseNetDev,
  parseThreadCount,
  readProcText,
} from './procFiles.js';

/**
 * What `@opentelemetry/host-metrics` lacks and the original system had, plus network counters.
 * host-metrics reads the network through `systeminformation`, which runs a synchronous shell
 * command on each collection (~18 ms of blocked event loop here); these read /proc
 * asynchronously, so a collection never blocks. Names follow the semantic conventions; load
 * average uses the Collector hostmetrics receiver's names, as semconv has none.
 *
 * Returns a function that unregisters the callback.
 */
export function registerSystemMetrics(meter: Meter, options: { dataPath: string }): () => void {
  const networkIo = meter.createObservableCounter('system.network.io', {
    unit: 'By',
    description: 'Bytes received and transmitted per network interface.',
  });
  const networkPackets = meter.createObservableCounter('system.network.packet.count', {
    unit: '{packet}',
    description: 'Packets received and transmitted per network interface.',
  });
  const networkErrors = meter.createObservableCounter('system.network.errors', {
    unit: '{error}',
    description: 'Receive and transmit errors per network interface.',
  });
  const networkDropped = meter.createObservableCounter('system.network.packet.dropped', {
    unit: '{packet}',
    description: 'Packets dropped per network interface.',
  });
  const load: Record<'1m' | '5m' | '15m', ObservableGauge> = {
    '1m': meter.createObservableGauge('system.cpu.load_average.1m', {
      unit: '{thread}',
      description: 'Load average over 1 minute.',
    }),
    '5m': meter.createObservableGauge('system.cpu.load_average.5m', {
      unit: '{thread}',
      description: 'Load average over 5 minutes.',
    }),
    '15m': meter.createObservableGauge('system.cpu.load_average.15m', {
      unit: '{thread}',
      description: 'Load average over 15 minutes.',
    }),
  };
  const filesystemUsage: ObservableUpDownCounter = meter.createObservableUpDownCounter(
    'system.filesystem.usage',
    {
      unit: 'By',
      description: 'Space on the filesystem that holds the perfwatch history, by state.',
    },
  );
  const filesystemUtilization = meter.createObservableGauge('system.filesystem.utilization', {
    unit: '1',
    description: 'Fraction of the history filesystem in use (used / (used + available)).',
  });
  const threads = meter.createObservableUpDownCounter('process.thread.count', {
    unit: '{thread}',
    description: 'Threads of this process.',
  });
  const fileDescriptors = meter.createObservableUpDownCounter('process.open_file_descriptor.count', {
    unit: '{file_descriptor}',
    description: 'Open file descriptors of this process.',
  });

  const dataFolder = dirname(resolve(options.dataPath));
  // The mount point is looked up once; mounts under a running service rarely move.
  const mountPoint = readProcText('/proc/self/mountinfo').then((text) =>
    text === undefined ? dataFolder : (mountPointOf(dataFolder, parseMountPoints(text)) ?? dataFolder),
  );

  const callback = async (result: BatchObservableResult) => {
    const [netDev, status, fdCount, fs, mount] = await Promise.all([
      readProcText('/proc/net/dev'),
      readProcText('/proc/self/status'),
      countOpenFileDescriptors(),
      statfs(dataFolder).catch(() => undefined),
      mountPoint,
    ]);
    for (const nic of netDev === undefined ? [] : parseNetDev(netDev)) {
      const rx = { 'network.interface.name': nic.name, 'network.io.direction': 'receive' };
      const tx = { 'network.interface.name': nic.name, 'network.io.direction': 'transmit' };
      result.observe(networkIo, nic.receiveBytes, rx);
      result.observe(networkIo, nic.transmitBytes, tx);
      result.observe(networkPackets, nic.receivePackets, rx);
      result.observe(networkPackets, nic.transmitPackets, tx);
      result.observe(networkErrors, nic.receiveErrors, rx);
      result.observe(networkErrors, nic.transmitErrors, tx);
      result.observe(networkDropped, nic.receiveDropped, rx);
      result.observe(networkDropped, nic.transmitDropped, tx);
    }
    const [one, five, fifteen] = loadavg();
    result.observe(load['1m'], one!);
    result.observe(load['5m'], five!);
    result.observe(load['15m'], fifteen!);
    if (fs !== undefined) {
      const used = (fs.blocks - fs.bfree) * fs.bsize;
      const free = fs.bavail * fs.bsize;
      const reserved = (fs.bfree - fs.bavail) * fs.bsize;
      const at = (state: string) => ({
        'system.filesystem.mountpoint': mount,
        'system.filesystem.state': state,
      });
      result.observe(filesystemUsage, used, at('used'));
      result.observe(filesystemUsage, free, at('free'));
      result.observe(filesystemUsage, reserved, at('reserved'));
      if (used + free > 0)
        result.observe(filesystemUtilization, used / (used + free), {
          'system.filesystem.mountpoint': mount,
        });
    }
    const threadCount = status === undefined ? undefined : parseThreadCount(status);
    if (threadCount !== undefined) result.observe(threads, threadCount);
    if (fdCount !== undefined) result.observe(fileDescriptors, fdCount);
  };
  const observables = [
    networkIo,
    networkPackets,
    networkErrors,
    networkDropped,
    load['1m'],
    load['5m'],
    load['15m'],
    filesystemUsage,
    filesystemUtilization,
    threads,
    fileDescriptors,
  ];
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
