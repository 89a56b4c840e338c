// Conditions for the alert tests, produced by Node BullMQ itself.
//
//   node alerting.mjs <major: 5|6> <redis-url> <queue> add <n>    n jobs left waiting
//   node alerting.mjs <major: 5|6> <redis-url> <queue> fail <n>   n jobs a Node Worker fails
//   node alerting.mjs <major: 5|6> <redis-url> <queue> drain 0    Queue.drain(): none waits
//   node alerting.mjs <major: 5|6> <redis-url> <queue> aged <s> [priority]
//                                                                   one job waiting, added <s>
//                                                                   seconds ago (opts.timestamp)
//
// Prints Node's getJobCounts() afterwards, as JSON.

const [major, redisUrl, queueName, action, n] = process.argv.slice(2);
const { Queue, Worker } = await import(`bullmq${major}`);
const { connectionFor } = await import("./connection.mjs");
const { connection, close } = connectionFor(redisUrl);
const queue = new Queue(queueName, { connection });
const count = Number(n);

if (action === "aged") {
  const priority = Number(process.argv[7] ?? 0);
  await queue.add("charge", {}, { timestamp: Date.now() - count * 1000, priority });
}
for (let i = 0; action !== "aged" && i < count; i++) {
  await queue.add("charge", { i });
}
if (action === "drain") {
  await queue.drain();
}
if (action === "fail") {
  let failed = 0;
  const done = new Promise((resolve) => {
    const worker = new Worker(
      queueName,
      async () => {
        throw new Error("card declined");
      },
      { connection },
    );
    worker.on("failed", async () => {
      failed += 1;
      if (failed === count) {
        await worker.close();
        resolve();
      }
    });
  });
  await done;
}
console.log(JSON.stringify(await queue.getJobCounts()));
await queue.close();
await close();
