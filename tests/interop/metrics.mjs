// Node BullMQ's metrics, for the metrics interop test.
//
//   node metrics.mjs <major: 5|6> <redis-url> <queue> work <completed> <failed>
//   node metrics.mjs <major: 5|6> <redis-url> <queue> read
//
// `work` adds jobs and runs a Worker started with `metrics: {maxDataPoints: 100}` until
// <completed> jobs completed and <failed> failed. Both modes then print Node's own
// queue.getMetrics(type, start, end) for both types and several ranges, as JSON.

const [major, redisUrl, queueName, mode, completedArg, failedArg] = process.argv.slice(2);
const { Queue, Worker } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const queue = new Queue(queueName, { connection });
export const RANGES = [[0, -1], [0, 1], [1, 2], [-2, -1], [5, 10]];

if (mode === "work") {
  const completed = Number(completedArg);
  const failed = Number(failedArg);
  await queue.addBulk(
    Array.from({ length: completed + failed }, (_, i) => ({
      name: "mail",
      data: { fail: i >= completed },
    })),
  );
  let finished = 0;
  let timer;
  await new Promise((resolve, reject) => {
    const worker = new Worker(
      queueName,
      async (job) => {
        if (job.data.fail) throw new Error("smtp 451");
        return "ok";
      },
      { connection, metrics: { maxDataPoints: 100 } },
    );
    const done = () => {
      finished += 1;
      if (finished === completed + failed) worker.close().then(resolve, reject);
    };
    worker.on("completed", done);
    worker.on("failed", done);
    worker.on("error", reject);
    timer = setTimeout(() => reject(new Error(`only ${finished} jobs finished in 20 s`)), 20000);
  });
  clearTimeout(timer);
}
const answers = {};
for (const type of ["completed", "failed"]) {
  for (const [start, end] of RANGES) {
    answers[`${type} ${start} ${end}`] = await queue.getMetrics(type, start, end);
  }
}
console.log(JSON.stringify(answers));
await queue.close();
