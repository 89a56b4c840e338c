// Mixed traffic on one queue from Node BullMQ, for the "exact at rest" test of the live counts.
//
//   node mixed.mjs <major: 5|6> <redis-url> <queue>
//
// Adds (completions kept by removeOnComplete: 100), failures retried with backoff and trimmed by
// removeOnFail, priorities and delays, a flow, pause and resume, then clean, drain, obliterate
// and a promote done from Node, and a job that stalls (its worker's lock lapses). Prints Node's
// getJobCounts() once traffic has stopped.

const [major, redisUrl, queueName] = process.argv.slice(2);
const { Queue, Worker, FlowProducer } = await import(`bullmq${major}`);
const { connectionFor } = await import("./connection.mjs");
const { connection, close } = connectionFor(redisUrl);
const queue = new Queue(queueName, { connection });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const kept = { removeOnComplete: 100, removeOnFail: 5 };

function startWorker() {
  return new Worker(
    queueName,
    async (job) => {
      await sleep(job.data.ms ?? 5);
      if (job.data.fail) throw new Error("smtp 451: try again later");
      return { ok: true };
    },
    // A short stalled check: a longer one would hold off the later worker's (see below).
    { connection, concurrency: 4, stalledInterval: 300 },
  );
}

// Obliterate first, with jobs in it: the queue starts over with no event for what it held.
await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: "old", data: { i } })));
await sleep(300);
await queue.pause();
await queue.obliterate({ force: true });
await queue.resume();

let worker = startWorker();
const plain = (n, extra = {}) =>
  Array.from({ length: n }, (_, i) => ({ name: "mail", data: { i }, opts: { ...kept, ...extra } }));
await queue.addBulk(plain(150));
await queue.addBulk(
  Array.from({ length: 12 }, (_, i) => ({
    name: "bounce",
    data: { i, fail: true },
    opts: { ...kept, attempts: 2, backoff: { type: "fixed", delay: 200 } },
  })),
);
await queue.addBulk(plain(10).map((job, i) => ({ ...job, opts: { ...job.opts, priority: 1 + (i % 3) } })));
await queue.addBulk(plain(8, { delay: 400 }));
const later = await queue.addBulk(plain(6, { delay: 600000 }));
await new FlowProducer({ connection }).add({
  name: "report",
  queueName,
  data: {},
  children: [
    { name: "part", queueName, data: { ms: 50 } },
    { name: "part", queueName, data: { ms: 50 } },
  ],
});
await sleep(800);

await queue.pause();
await queue.addBulk(plain(10));
await sleep(300);
await queue.resume();
await later[0].promote();
await sleep(800);
await queue.clean(0, 20, "completed");

// A job that stalls: a worker takes it and lets its lock lapse; the next worker's stalled check
// puts it back in wait, and completes it.
await worker.close();
const stuck = new Worker(queueName, () => new Promise(() => {}), {
  connection,
  lockDuration: 600,
  skipLockRenewal: true,
  skipStalledCheck: true, // its check would hold off the next worker's for stalledInterval
  autorun: false,
});
await queue.add("stuck", { ms: 5 }, kept);
stuck.run();
await sleep(1200);
worker = new Worker(queueName, async (job) => ({ ok: job.id }), {
  connection,
  concurrency: 4,
  stalledInterval: 300,
});
await queue.addBulk(plain(20));
for (let i = 0; i < 100; i++) {
  const counts = await queue.getJobCounts("wait", "active", "prioritized");
  if (counts.wait + counts.active + counts.prioritized === 0) break;
  await sleep(100);
}
await worker.close();

// Drain last, with no worker taking jobs: the waiting ones go with no event. After a pause
// longer than the watcher's notice interval, so that nothing read in the same notice (`cleaned`,
// `paused` ask for a full re-read) hides it.
await sleep(7000);
await queue.addBulk(plain(15));
await queue.drain();
await queue.addBulk(plain(7)); // left waiting at rest
console.log(JSON.stringify(await queue.getJobCounts()));
await queue.close();
await close();
process.exit(0); // the stalled worker's processor never returns
