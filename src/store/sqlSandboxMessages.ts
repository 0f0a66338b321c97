import type { SandboxSettings } from './SandboxConnection.js';

/** What SqlSandbox asks its query process; one request at a time. */
export type SandboxRequest =
  | { readonly type: 'open'; readonly path: string; readonly settings: SandboxSettings }
  | {
      readonly type: 'run';
      readonly sql: string;
      readonly rowLimit: number;
      /** Largest serialized result the process hands back. */
      readonly maxResultBytes: number;
    };

/** The query process's answer to one request. */
export type SandboxReply =
  | { readonly type: 'opened' }
  /** A SandboxRows, serialized with `v8.serialize` (its size is what `maxResultBytes` bounds). */
  | { readonly type: 'rows'; readonly payload: Uint8Array }
  | {
      readonly type: 'failed';
      /** The PerfWatchError code to raise again in the parent. */
      readonly code: string;
      /** The message without its `sql: ` prefix. */
      readonly detail: string;
      readonly path?: string;
      readonly holderPid?: number;
    };
