// Jobs for a drain to run, and what Node BullMQ reads of them afterwards.
//
//   node finished.mjs <major: 5|6> <redis-url> <queue> add     -> adds the jobs below, prints ids
//   node finished.mjs <major: 5|6> <redis-url> <queue> read <id>...
//
// `read` prints, per id, Node's getJob() view of a finished job: state, returnvalue, progress,
// attemptsMade, failedReason, stacktrace and logs.

const [major, redisUrl, queueName, mode, ...ids] = process.argv.slice(2);
const { Queue } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const queue = new Queue(queueName, { connection });

let answer;
if (mode === "add") {
  const ok = await queue.add("report", { n: 1 }, { removeOnComplete: false });
  const flaky = await queue.add(
    "report",
    { n: 2, fail: "disk full" },
    { attempts: 2, backoff: { type: "fixed", delay: 2000 } },
  );
  answer = { ok: ok.id, flaky: flaky.id };
} else {
  answer = {};
  for (const id of ids) {
    const job = await queue.getJob(id);
    answer[id] = {
      state: await job.getState(),
      returnvalue: job.returnvalue ?? null,
      progress: job.progress,
      attemptsMade: job.attemptsMade,
      failedReason: job.failedReason ?? null,
      stacktrace: job.stacktrace,
      logs: (await queue.getJobLogs(id)).logs,
    };
  }
}
console.log(JSON.stringify(answer));
await queue.close();
