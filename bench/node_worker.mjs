// Node BullMQ 5.81.5 (tests/interop/node_modules/bullmq5) for bench/drain.py.
//
//   node bench/node_worker.mjs add    <redis-url> <queue> <jobs> [chunk]
//   node bench/node_worker.mjs work   <redis-url> <queue> <jobs> <concurrency>
//   node bench/node_worker.mjs counts <redis-url> <queue,queue,...>
//   node bench/node_worker.mjs traffic <redis-url> <queue,queue,...> <jobs-per-second> [options]
//
// add:    addBulk in chunks of `chunk` (default 1000); prints {"added", "ms"}.
// work:   a default Worker with a no-op async processor; the clock starts just before
//         `new Worker(...)` and stops at the `jobs`-th 'completed' event; prints {"completed", "ms",
//         "cpuUs"}, cpuUs being the process's user + system CPU over the same span.
// counts: connects, runs one untimed round of getJobCounts() (loads the script), prints "ready",
//         then for each "go" line on stdin runs queue.getJobCounts() for every queue and prints
//         the counts as one JSON line, so the caller can meter exactly those commands. "quit" ends.
// traffic: busy queues for bench/live.py, pages.py and scale.py: adds one job every 1/rate s,
//         to each queue in turn, and a default Worker per queue completes them (no-op
//         processor); prints "ready" once all run. A "count" line on stdin prints
//         {"added", "completed"} so far; the end of stdin stops it. Options: --prefix=P (default
//         bull), --cluster (the url is one node of a Redis Cluster), --extras (also a job
//         scheduler every 2 s and a flow, a parent and 3 children, all in the first queue: one
//         queue, so one hash slot on a cluster).

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(new URL("../tests/interop/package.json", import.meta.url));
const { FlowProducer, Queue, Worker } = require("bullmq5");

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
  let cpu;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ms = await new Promise((resolve, reject) => {
    worker = new Worker(queueArg, async () => {}, { connection, concurrency });
    worker.on("completed", () => {
      completed += 1;
      if (completed === jobs) {
        cpu = process.cpuUsage(cpu0);
        resolve(performance.now() - t0);
      }
    });
    worker.on("error", reject);
  });
  await worker.close();
  console.log(JSON.stringify({ completed, ms, cpuUs: cpu.user + cpu.system }));
} else if (mode === "traffic") {
  const rate = Number(rest[0] || 10);
  const options = new Set(rest.slice(1));
  const prefix = [...options].find((o) => o.startsWith("--prefix="))?.slice(9) || "bull";
  const connect = () => {
    if (!options.has("--cluster")) return connection;
    const { Cluster } = require("ioredis");
    const redisOptions = { maxRetriesPerRequest: null };
    return new Cluster([{ host: connection.host, port: connection.port }], { redisOptions });
  };
  const names = queueArg.split(",");
  const queues = names.map((name) => new Queue(name, { connection: connect(), prefix }));
  let completed = 0;
  const workers = names.map((name) => {
    const worker = new Worker(name, async () => {}, { connection: connect(), prefix });
    worker.on("completed", () => (completed += 1));
    return worker;
  });
  for (const each of [...queues, ...workers]) await each.waitUntilReady();
  if (options.has("--extras")) {
    await queues[0].upsertJobScheduler("traffic-every-2s", { every: 2000 }, { name: "tick" });
    const flows = new FlowProducer({ connection: connect(), prefix });
    const children = [0, 1, 2].map((i) => ({ name: "child", queueName: names[0], data: { i } }));
    await flows.add({ name: "parent", queueName: names[0], data: {}, children });
    await flows.close();
  }
  let added = 0;
  const timer = setInterval(() => {
    queues[added % queues.length].add("traffic", { n: added }).catch((err) => console.error(err));
    added += 1;
  }, 1000 / rate);
  console.log("ready");
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === "count") console.log(JSON.stringify({ added, completed }));
  }
  clearInterval(timer);
  for (const each of [...workers, ...queues]) await each.close();
  process.exit(0); // a cluster's connections, made here, are not closed by their users
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
