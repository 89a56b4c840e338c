// Node BullMQ's repeatable jobs, for the drain interop tests.
//
//   node schedule.mjs <major: 5|6> <redis-url> <queue> add <kind> <pattern-or-ms> [tz]
//   node schedule.mjs <major: 5|6> <redis-url> <queue> inspect
//
// `add` makes one repeatable job of a kind: `legacy` (queue.add with repeat: {pattern}, BullMQ 5
// only), `pattern` (upsertJobScheduler with pattern, and tz when given) or `every`
// (upsertJobScheduler with every = <ms>); or `quiet`, one job delayed by <ms> in a queue whose
// events stream is turned off (streams.events.maxLen 0). `inspect` prints what Node itself sees: the schedulers
// or legacy repeatables with their next run, the delayed jobs, and the completed jobs.

const [major, redisUrl, queueName, mode, kind, spec, tz] = process.argv.slice(2);
const { Queue } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const streams = kind === "quiet" ? { events: { maxLen: 0 } } : undefined;
const queue = new Queue(queueName, { connection, streams });

if (mode === "add") {
  const opts = { attempts: 2, removeOnComplete: 7 };
  if (kind === "legacy") {
    await queue.add("legacy-job", { kind }, { ...opts, repeat: { pattern: spec } });
  } else if (kind === "pattern") {
    await queue.upsertJobScheduler(
      "pattern-scheduler",
      tz ? { pattern: spec, tz } : { pattern: spec },
      { name: "pattern-job", data: { kind }, opts },
    );
  } else if (kind === "every") {
    await queue.upsertJobScheduler(
      "every-scheduler",
      { every: Number(spec) },
      { name: "every-job", data: { kind }, opts },
    );
  } else if (kind === "quiet") {
    await queue.add("quiet-job", { kind }, { delay: Number(spec) });
  } else {
    throw new Error(`unknown kind ${kind}`);
  }
}

const view = (job) => ({
  id: job.id,
  name: job.name,
  timestamp: job.timestamp,
  delay: job.delay,
  repeatJobKey: job.repeatJobKey ?? null,
  returnvalue: job.returnvalue ?? null,
});
const schedulers = await queue.getJobSchedulers(); // BullMQ 5 lists legacy repeatables too
console.log(
  JSON.stringify({
    schedulers: schedulers.map((s) => ({ key: s.key, id: s.id ?? null, next: s.next ?? null })),
    delayed: (await queue.getDelayed()).map(view),
    completed: (await queue.getCompleted()).map(view),
    failed: (await queue.getFailed()).map(view),
    counts: await queue.getJobCounts(),
  }),
);
await queue.close();
