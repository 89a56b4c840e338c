// Node BullMQ's job schedulers, for the scheduler interop tests.
//
//   node schedulers.mjs <major: 5|6> <redis-url> <queue> make
//   node schedulers.mjs <major: 5|6> <redis-url> <queue> view [jobId ...]
//   node schedulers.mjs <major: 5|6> <redis-url> <queue> upsert <schedulerId ...>
//
// `make` creates three: a legacy repeatable job (`add(…, {repeat: {pattern}})`; BullMQ 6 has no
// such call, so BullMQ 5 always makes this one), a job scheduler with a pattern and a time zone,
// and one with `every` that starts in an hour. `upsert` makes a scheduler with `every` an hour
// for each id given. Both modes then print Node's own answers as JSON:
// getJobSchedulers(), getJobCounts(), and getState() of each job id named.

const [major, redisUrl, queueName, mode, ...jobIds] = process.argv.slice(2);
const { Queue } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const queue = new Queue(queueName, { connection });
const HOUR = 60 * 60 * 1000;

try {
  if (mode === "make") {
    const { Queue: Queue5 } = await import("bullmq5");
    const legacy = new Queue5(queueName, { connection });
    await legacy.add("nightly-rollup", { scope: "all" }, { repeat: { pattern: "0 2 * * *" } });
    await legacy.close();
    await queue.upsertJobScheduler(
      "monthly-credits",
      { pattern: "5 0 1 * *", tz: "America/New_York", endDate: Date.now() + 400 * 24 * HOUR },
      { name: "grant-credits", data: { credits: 100, note: "<b>bold</b>" }, opts: { attempts: 2 } },
    );
    await queue.upsertJobScheduler(
      "heartbeat",
      { every: 60_000, startDate: Date.now() + HOUR, limit: 50 },
      { name: "ping" },
    );
  } else if (mode === "upsert") {
    for (const id of jobIds.splice(0)) {
      await queue.upsertJobScheduler(id, { every: HOUR }, { name: "tick", data: { id } });
    }
  } else if (mode !== "view") {
    throw new Error(`unknown mode ${mode}`);
  }
  const states = {};
  for (const id of jobIds) states[id] = await queue.getJobState(id);
  const out = {
    schedulers: await queue.getJobSchedulers(),
    counts: await queue.getJobCounts(),
    states,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await queue.close();
}
