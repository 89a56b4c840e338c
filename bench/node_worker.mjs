// Node BullMQ 5.81.5 (tests/interop/node_modules/bullmq5) for bench/drain.py.
//
//   node bench/node_worker.mjs add    <redis-url> <queue> <jobs> [chunk]
//   node bench/node_worker.mjs work   <redis-url> <queue> <jobs> <concurrency>
//   node bench/node_worker.mjs counts <redis-url> <queue,queue,...>
//   node bench/node_worker.mjs traffic <redis-url> <queue> <jobs-per-second>
//
// add:    addBulk in chunks of `chunk` (default 1000); prints {"added", "ms"}.
// work:   a default Worker with a no-op async processor; the clock starts just before
//         `new Worker(...)` and stops at the `jobs`-th 'completed' event; prints {"completed", "ms"}.
// counts: connects, runs one untimed round of getJobCounts() (loads the script), prints "ready",
//         then for each "go" line on stdin runs queue.getJobCounts() for every queue and prints
//         the counts as one JSON line, so the caller can meter exactly those commands. "quit" ends.
// traffic: a busy queue for bench/live.py: adds one job every 1/rate s and a default Worker
//         completes them (no-op processor); prints "ready" once both run, stops when stdin ends.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../tests/interop/package.json", import.meta.url));
const { Queue, Worker } = require("bullmq5");

const [mode, redisUrl, queueArg, ...rest] = process.argv.slice(2);
if (!["add", "work", "counts", "traffic"].includes(mode) || !redisUrl || !queueArg) {
  console.error("usage: node node_worker.mjs add|work|counts|traffic <redis-url> <queue> ...");
  process.exit(2);
}
const url = new URL(redisUrl);
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number(url.pathname.slice(1) || 0),
};

if (mode === "add") {
  const jobs = Number(rest[0]);
  const chunk = Number(rest[1] || 1000);
  const queue = new Queue(queueArg, { connection });
  const t0 = performance.now();
  for (let start = 0; start < jobs; start += chunk) {
    const size = Math.min(chunk, jobs - start);
    await queue.addBulk(
      Array.from({ length: size }, (_, i) => ({ name: "noop", data: { i: start + i } })),
    );
  }
  const ms = performance.now() - t0;
  await queue.close();
  console.log(JSON.stringify({ added: jobs, ms }));
} else if (mode === "work") {
  const jobs = Number(rest[0]);
  const concurrency = Number(rest[1] || 1);
  let completed = 0;
  let worker;
  const t0 = performance.now();
  const ms = await new Promise((resolve, reject) => {
    worker = new Worker(queueArg, async () => {}, { connection, concurrency });
    worker.on("completed", () => {
      completed += 1;
      if (completed === jobs) resolve(performance.now() - t0);
    });
    worker.on("error", reject);
  });
  await worker.close();
  console.log(JSON.stringify({ completed, ms }));
} else if (mode === "traffic") {
  const rate = Number(rest[0] || 10);
  const queue = new Queue(queueArg, { connection });
  const worker = new Worker(queueArg, async () => {}, { connection });
  await queue.waitUntilReady();
  await worker.waitUntilReady();
  let n = 0;
  const timer = setInterval(() => {
    queue.add("traffic", { n: n++ }).catch((err) => console.error(err));
  }, 1000 / rate);
  console.log("ready");
  for await (const _ of createInterface({ input: process.stdin }));
  clearInterval(timer);
  await worker.close();
  await queue.close();
} else {
  const queues = queueArg.split(",").map((name) => new Queue(name, { connection }));
  const round = async () => {
    const out = {};
    for (const q of queues) out[q.name] = await q.getJobCounts();
    return out;
  };
  await round(); // connection handshake and script loading, not metered
  console.log("ready");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() !== "go") break;
    console.log(JSON.stringify(await round()));
  }
  for (const q of queues) await q.close();
}
