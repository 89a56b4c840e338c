// Bull Board, set up the way its README sets it up, as the reference the benchmarks compare with.
//
//   node server.mjs --port 3000 --redis-url redis://127.0.0.1:6379 --queues a,b,c [--prefix bull]
//
// One BullMQ Queue (own connection) and one BullMQAdapter per queue name, served by Express at
// /admin/queues. Prints one JSON line `{"listening": <port>}` on stdout once it accepts
// connections, and closes its queues on SIGTERM or SIGINT.

import { parseArgs } from "node:util";

import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Queue } from "bullmq";
import express from "express";

const BASE_PATH = "/admin/queues";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "3000" },
    host: { type: "string", default: "127.0.0.1" },
    "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
    queues: { type: "string", default: "" },
    prefix: { type: "string", default: "bull" },
  },
});

const names = values.queues
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);
if (names.length === 0) {
  console.error("server.mjs: --queues needs at least one queue name");
  process.exit(2);
}

const redisUrl = new URL(values["redis-url"]);
const connection = {
  host: redisUrl.hostname || "127.0.0.1",
  port: Number(redisUrl.port || 6379),
  ...(redisUrl.username ? { username: decodeURIComponent(redisUrl.username) } : {}),
  ...(redisUrl.password ? { password: decodeURIComponent(redisUrl.password) } : {}),
  ...(redisUrl.pathname.length > 1 ? { db: Number(redisUrl.pathname.slice(1)) } : {}),
};

const queues = names.map((name) => new Queue(name, { connection, prefix: values.prefix }));

const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath(BASE_PATH);
createBullBoard({
  queues: queues.map((queue) => new BullMQAdapter(queue)),
  serverAdapter,
});

const app = express();
app.use(BASE_PATH, serverAdapter.getRouter());

const server = app.listen(Number(values.port), values.host, () => {
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`);
});

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  server.closeAllConnections?.();
  server.close();
  await Promise.allSettled(queues.map((queue) => queue.close()));
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
