// One job in each state Node BullMQ's getState names, for the job-read interop test.
//
//   node jobstates.mjs <major: 5|6> <redis-url>
//
// Queue `js-<state>` holds the job: waiting, prioritized, delayed, active (taken by a Worker
// without a processor), completed, failed, waiting-children (a flow's parent) and paused (added
// to a paused queue: BullMQ 5 keeps it in the `paused` list, BullMQ 6 in `wait`), and the job of
// a job scheduler (queue `js-scheduler`) and a job retried after a failure (`js-retried`), in
// whatever state Node gives them. Each job has
// one log line. Prints, per state: the queue, the job id, Node's getJob() fields, getState(),
// getJobLogs(), and the commands the server executed for getJob() + getState() (INFO
// commandstats, INFO itself left out): what Bull Board asks to show one job.

import { Redis } from "ioredis";
import { view } from "./job_view.mjs";

const [major, redisUrl] = process.argv.slice(2);
const { Queue, Worker, FlowProducer } = await import(`bullmq${major}`);
const url = new URL(redisUrl);
const connection = { host: url.hostname, port: Number(url.port || 6379) };
const HOUR = 60 * 60 * 1000;
const TOKEN = "interop-token";

const queues = {};
const queueOf = (state) => (queues[state] ??= new Queue(`js-${state}`, { connection }));
const closers = [];

async function taken(state, opts = {}) {
  // A Worker without a processor takes jobs only when asked: the job stays active, ours to move.
  const worker = new Worker(`js-${state}`, null, { connection, autorun: false });
  closers.push(worker);
  await queueOf(state).add(state, { state }, opts);
  return worker.getNextJob(TOKEN);
}

const made = {};
made.waiting = await queueOf("waiting").add("waiting", { state: "waiting" });
made.prioritized = await queueOf("prioritized").add("prioritized", {}, { priority: 5 });
made.delayed = await queueOf("delayed").add("delayed", {}, { delay: HOUR });
made.active = await taken("active");
made.completed = await taken("completed");
await made.completed.moveToCompleted({ sent: true }, TOKEN, false);
made.failed = await taken("failed");
await made.failed.moveToFailed(new Error("boom"), TOKEN, false);
// Failed once with an attempt left and no backoff: back in `wait`, its hash still carrying the
// attempt's processedOn (a hash that looks taken, for a job that waits).
made.retried = await taken("retried", { attempts: 2 });
await made.retried.moveToFailed(new Error("once"), TOKEN, false);
const flows = new FlowProducer({ connection });
closers.push(flows);
made["waiting-children"] = (
  await flows.add({
    name: "parent",
    queueName: "js-waiting-children",
    data: {},
    children: [{ name: "child", queueName: "js-children", data: {} }],
  })
).job;
await queueOf("paused").pause();
made.paused = await queueOf("paused").add("paused", { state: "paused" });
// A job scheduler's job: its id is `repeat:<scheduler id>:<millis>`, the shape of a scheduler's
// hash name, which the dashboard tells apart by the hash it reads.
made.scheduler = await queueOf("scheduler").upsertJobScheduler("tick", { every: HOUR }, { name: "tick" });
for (const job of Object.values(made)) await job.log(`made by BullMQ ${major}`);

const stats = new Redis(connection);
async function executed() {
  const text = await stats.info("commandstats");
  let calls = 0;
  for (const line of text.split("\n")) {
    const match = line.match(/^cmdstat_([^:]+):calls=(\d+)/);
    if (match && match[1] !== "info") calls += Number(match[2]);
  }
  return calls;
}

const answer = {};
for (const [state, job] of Object.entries(made)) {
  const queue = queueOf(state);
  await (await queue.getJob(job.id)).getState(); // connection up and the script loaded
  const before = await executed();
  const read = await queue.getJob(job.id);
  const found = await read.getState();
  const commands = (await executed()) - before;
  answer[state] = {
    queue: queue.name,
    id: job.id,
    job: { ...view(read), state: found, logs: (await queue.getJobLogs(job.id)).logs },
    commands,
  };
}
console.log(JSON.stringify(answer));
for (const closer of closers) await closer.close();
for (const queue of Object.values(queues)) await queue.close();
stats.disconnect();
