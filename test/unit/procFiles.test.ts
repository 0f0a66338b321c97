import { describe, expect, it } from 'vitest';
import {
  mountPointOf,
  parseMountPoints,
  parseNetDev,
  parseThreadCount,
} from '../../src/telemetry/procFiles.js';

describe('/proc parsers', () => {
  it('reads interface counters from /proc/net/dev', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0',
      '  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0',
      'garbage line without numbers',
    ].join('\n');
    expect(parseNetDev(text)).toEqual([
      {
        name: 'lo',
        receiveBytes: 3193,
        receivePackets: 29,
        receiveErrors: 0,
        receiveDropped: 0,
        transmitBytes: 3193,
        transmitPackets: 29,
        transmitErrors: 0,
        transmitDropped: 0,
      },
      {
        name: 'eth0',
        receiveBytes: 1000,
        receivePackets: 10,
        receiveErrors: 1,
        receiveDropped: 2,
        transmitBytes: 2000,
        transmitPackets: 20,
        transmitErrors: 3,
        transmitDropped: 4,
      },
    ]);
  });

  it('reads the thread count from /proc/self/status', () => {
    expect(parseThreadCount('Name:\tnode\nThreads:\t11\nVmRSS:\t1 kB\n')).toBe(11);
    expect(parseThreadCount('Name:\tnode\n')).toBeUndefined();
  });

  it('finds the mount point that holds a path, decoding escaped spaces', () => {
    const mountinfo = [
      '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
      '30 22 8:2 / /var/lib rw - ext4 /dev/sda2 rw',
      '31 22 8:3 / /mnt/my\\040disk rw - ext4 /dev/sda3 rw',
    ].join('\n');
    const mounts = parseMountPoints(mountinfo);
    expect(mounts).toEqual(['/', '/var/lib', '/mnt/my disk']);
    expect(mountPointOf('/var/lib/perfwatch', mounts)).toBe('/var/lib');
    expect(mountPointOf('/var/library', mounts)).toBe('/');
    expect(mountPointOf('/mnt/my disk/data', mounts)).toBe('/mnt/my disk');
  });
});
