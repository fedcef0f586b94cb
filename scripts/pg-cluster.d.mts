/** A throwaway PostgreSQL cluster (scripts/pg-cluster.mjs). */
export interface PgCluster {
  /** postgres://crsync@127.0.0.1:<port>/<database> */
  url: string;
  urlOf(database: string): string;
  port: number;
  dir: string;
  /** Starts the server again on the same port after kill(). */
  start(): void;
  /** Stops the server at once (immediate shutdown), keeping its files. */
  kill(): void;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}
export function pgBinDir(): string | undefined;
export function startPgCluster(options?: { database?: string }): Promise<PgCluster>;
