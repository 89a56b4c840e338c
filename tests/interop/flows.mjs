// A FlowProducer tree across two queues, for the flow interop tests.
//
//   node flows.mjs <major: 5|6> <redis-url>
//
// In flow-a, `root` has four children: `fetch` (flow-b, completed), `parse` (flow-b, fails with
// ignoreDependencyOnFailure), `later` (flow-b, delayed an hour) and `group` (flow-a, itself the
// parent of `leaf`, delayed). `audit` (flow-a) has one child, `check` (flow-b), that fails with
// failParentOnFailure. A Worker on flow-b processes what is due, then stops. Prints, for every
// job, Node's getState(), its parentKey, getDependencies() and getDependenciesCount().

const [major, redisUrl] = process.argv.slice(2);
const { FlowProducer, Queue, Worker } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const HOUR = 60 * 60 * 1000;

const flows = new FlowProducer({ connection });
await flows.add({
  name: "report",
  queueName: "flow-a",
  opts: { jobId: "root" },
  children: [
    { name: "fetch", queueName: "flow-b", opts: { jobId: "fetch" } },
    { name: "parse", queueName: "flow-b", opts: { jobId: "parse", ignoreDependencyOnFailure: true } },
    { name: "later", queueName: "flow-b", opts: { jobId: "later", delay: HOUR } },
    {
      name: "group",
      queueName: "flow-a",
      opts: { jobId: "group" },
      children: [{ name: "leaf", queueName: "flow-b", opts: { jobId: "leaf", delay: HOUR } }],
    },
  ],
});
await flows.add({
  name: "audit",
  queueName: "flow-a",
  opts: { jobId: "audit" },
  children: [
    { name: "check", queueName: "flow-b", opts: { jobId: "check", failParentOnFailure: true } },
  ],
});
await flows.close();

const worker = new Worker(
  "flow-b",
  async (job) => {
    if (job.name === "parse" || job.name === "check") throw new Error(`${job.name} broke`);
    return { ok: job.name };
  },
  { connection },
);
let finished = 0;
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`only ${finished} of 3 jobs finished`)), 20000);
  const done = () => {
    finished += 1;
    if (finished === 3) {
      clearTimeout(timer);
      resolve();
    }
  };
  worker.on("completed", done);
  worker.on("failed", done);
});
await worker.close();

const jobs = {};
for (const name of ["flow-a", "flow-b"]) {
  const queue = new Queue(name, { connection });
  for (const id of ["root", "group", "audit", "fetch", "parse", "later", "leaf", "check"]) {
    const job = await queue.getJob(id);
    if (!job) continue;
    jobs[id] = {
      queue: name,
      name: job.name,
      state: await job.getState(),
      parentKey: job.parentKey ?? null,
      dependencies: await job.getDependencies(),
      counts: await job.getDependenciesCount(),
    };
  }
  await queue.close();
}
process.stdout.write(`${JSON.stringify({ jobs })}\n`);
