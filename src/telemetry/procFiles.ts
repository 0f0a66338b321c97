import { readdir, readFile } from 'node:fs/promises';

/** Counters of one interface from /proc/net/dev. */
export interface InterfaceCounters {
  readonly name: string;
  readonly receiveBytes: number;
  readonly receivePackets: number;
  readonly receiveErrors: number;
  readonly receiveDropped: number;
  readonly transmitBytes: number;
  readonly transmitPackets: number;
  readonly transmitErrors: number;
  readonly transmitDropped: number;
}

/** Parses the text of /proc/net/dev (two header lines, then `iface: 16 numbers`). */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (fields.length < 16 || fields.some((n) => !Number.isFinite(n))) continue;
    out.push({
      name: line.slice(0, colon).trim(),
      receiveBytes: fields[0]!,
      receivePackets: fields[1]!,
      receiveErrors: fields[2]!,
      receiveDropped: fields[3]!,
      transmitBytes: fields[8]!,
      transmitPackets: fields[9]!,
      transmitErrors: fields[10]!,
      transmitDropped: fields[11]!,
    });
  }
  return out;
}

/** The `Threads:` line of /proc/<pid>/status. */
export function parseThreadCount(statusText: string): number | undefined {
  const match = /^Threads:\s+(\d+)/m.exec(statusText);
  return match ? Number(match[1]) : undefined;
}

/** Mount points from /proc/self/mountinfo (field 5), with octal escapes such as `\040` decoded. */
export function parseMountPoints(mountinfoText: string): string[] {
  return mountinfoText
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field?.startsWith('/') === true)
    .map((field) =>
      field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))),
    );
}

/** The mount point that holds `path`: the longest mount point that is a prefix of it. */
export function mountPointOf(path: string, mountPoints: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const mount of mountPoints) {
    const contains = mount === '/' || path === mount || path.startsWith(`${mount}/`);
    if (contains && (best === undefined || mount.length > best.length)) best = mount;
  }
  return best;
}

/** Reads a /proc file asynchronously; undefined where /proc does not exist (macOS, Windows). */
export async function readProcText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Open file descriptors of this process, or undefined without /proc. */
export async function countOpenFileDescriptors(): Promise<number | undefined> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return undefined;
  }
}
