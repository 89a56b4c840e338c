// Node BullMQ's own view of jobs and counts, for the tests of jobs added and edited here.
//
//   node inspect.mjs <major: 5|6> <redis-url> <queue> jobs <id>...   -> {"<id>": job | null}
//   node inspect.mjs <major: 5|6> <redis-url> <queue> views <id>...  -> {"<id>": view | null}:
//        job_view.mjs's fields of getJob() with getState()
//   node inspect.mjs <major: 5|6> <redis-url> <queue> counts         -> getJobCounts()
//   node inspect.mjs <major: 5|6> <redis-url> <queue> seed <N>       -> adds N jobs: waiting,
//        prioritized and delayed thirds; prints getJobCounts()
//
// A job is printed as Node's getJob() builds it: name, data, opts, priority, delay and getState().

const [major, redisUrl, queueName, mode, ...rest] = process.argv.slice(2);
const { Queue } = await import(`bullmq${major}`);
const { view } = await import("./job_view.mjs");
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const queue = new Queue(queueName, { connection });

let answer;
if (mode === "jobs") {
  answer = {};
  for (const id of rest) {
    const job = await queue.getJob(id);
    answer[id] = job
      ? {
          name: job.name,
          data: job.data,
          opts: job.opts,
          priority: job.priority,
          delay: job.delay,
          state: await job.getState(),
        }
      : null;
  }
} else if (mode === "views") {
  answer = {};
  for (const id of rest) {
    const job = await queue.getJob(id);
    answer[id] = job ? { ...view(job), state: await job.getState() } : null;
  }
} else {
  if (mode === "seed") {
    const n = Number(rest[0]);
    await queue.addBulk(
      Array.from({ length: n }, (_, i) => ({
        name: "seeded",
        data: { i },
        opts: i % 3 === 1 ? { priority: 3 } : i % 3 === 2 ? { delay: 3_600_000 } : {},
      })),
    );
  }
  answer = { paused: 0, ...(await queue.getJobCounts()) };
}
console.log(JSON.stringify(answer));
await queue.close();
