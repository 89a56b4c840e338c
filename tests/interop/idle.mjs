// Idle Node BullMQ workers (default options) for the cost-model validation.
//
//   node idle.mjs <major: 5|6> <redis-url> <seconds> <queue[:events]> [...]
//
// One Worker per queue named; `:events` adds a QueueEvents listener for that queue. Prints
// "ready" once all are running, stays idle for <seconds>, then closes them.

import { createRequire } from "module";

const require = createRequire(import.meta.url);
const [major, redisUrl, seconds, ...specs] = process.argv.slice(2);
const { Queue, QueueEvents, Worker } = require(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };

const running = [];
for (const spec of specs) {
  const [name, extra] = spec.split(":");
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  await queue.close();
  const worker = new Worker(name, async () => null, { connection });
  await worker.waitUntilReady();
  running.push(worker);
  if (extra === "events") {
    const events = new QueueEvents(name, { connection });
    await events.waitUntilReady();
    running.push(events);
  }
}
console.log("ready");
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
await Promise.all(running.map((r) => r.close()));
process.exit(0);
