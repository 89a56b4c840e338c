// The fields of Node's Job the dashboard must reproduce; undefined becomes null so the key stays.
// Shared by produce.mjs and jobstates.mjs (tests/helpers.py JOB_FIELDS is the Python side).
export const JOB_FIELDS = [
  "id",
  "name",
  "data",
  "opts",
  "progress",
  "delay",
  "priority",
  "timestamp",
  "attemptsMade",
  "attemptsStarted",
  "finishedOn",
  "processedOn",
  "failedReason",
  "stacktrace",
  "returnvalue",
  "parentKey",
  "parent",
];

export function view(job) {
  return Object.fromEntries(JOB_FIELDS.map((f) => [f, job[f] ?? null]));
}
