// A Node BullMQ worker for the action interop tests.
//
//   node work.mjs <major: 5|6> <redis-url> <queue> <add N|fail N|complete N|counts>
//   env BULLMQ_PREFIX (default bull); REDIS_CLUSTER=1 for a cluster
//
// `add N` adds N jobs; `fail N` runs a Worker whose processor throws until N jobs have failed;
// `complete N` runs one that succeeds until N jobs have completed. Every mode then prints Node's
// getJobCounts() as JSON, which the Python test compares with the dashboard's.

const [major, redisUrl, queueName, mode, countArg] = process.argv.slice(2);
const count = Number(countArg || 0);
const { Queue, Worker } = await import(`bullmq${major}`);
const { connectionFor } = await import("./connection.mjs");
const { connection, close } = connectionFor(redisUrl);
// BULLMQ_PREFIX: on a cluster, a hash-tagged prefix keeps each queue's keys in one slot.
const prefix = process.env.BULLMQ_PREFIX || "bull";
const queue = new Queue(queueName, { connection, prefix });

if (mode === "add") {
  await queue.addBulk(Array.from({ length: count }, (_, i) => ({ name: "mail", data: { i } })));
} else if (mode === "fail" || mode === "complete") {
  let done = 0;
  let timer;
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      queueName,
      async () => {
        if (mode === "fail") throw new Error("smtp 451: try again later");
        return { delivered: true };
      },
      { connection, prefix, autorun: true },
    );
    worker.on(mode === "fail" ? "failed" : "completed", () => {
      done += 1;
      if (done === count) worker.close(true).then(resolve, reject);
    });
    worker.on("error", reject);
    timer = setTimeout(() => reject(new Error(`only ${done} of ${count} jobs ${mode}ed in 20 s`)), 20000);
  });
  clearTimeout(timer);
}
console.log(JSON.stringify(await queue.getJobCounts()));
await queue.close();
await close();
