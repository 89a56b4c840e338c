// How the interop scripts reach Redis: one server, or, with REDIS_CLUSTER=1, a Redis Cluster
// through ioredis' Cluster (the URL names one node; ioredis finds the others), which is how
// BullMQ and Bull Board users connect to a cluster. `close()` ends what was opened here.

import { Cluster } from "ioredis";

export function connectionFor(redisUrl) {
  const url = new URL(redisUrl);
  const node = { host: url.hostname, port: Number(url.port || 6379) };
  const password = url.password ? { password: decodeURIComponent(url.password) } : {};
  if (process.env.REDIS_CLUSTER !== "1") {
    const connection = { ...node, db: Number(url.pathname.slice(1) || 0), ...password };
    return { connection, close: async () => {} };
  }
  // BullMQ's workers block on their connection, so retries per request must be off.
  const connection = new Cluster([node], { redisOptions: { maxRetriesPerRequest: null, ...password } });
  return { connection, close: async () => connection.disconnect() };
}
