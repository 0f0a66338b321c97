import { isIP } from 'node:net';

/** localhost, *.localhost (RFC 6761 keeps them on this machine), 127.0.0.0/8 and ::1. */
export function isLoopbackName(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}
