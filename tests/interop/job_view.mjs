// The fields of Node's Job the dashboard must reproduce (tests/interop/job_fields.json, which
// tests/helpers.py reads too); undefined becomes null so the key stays. Shared by produce.mjs and
// jobstates.mjs.
import { readFileSync } from "node:fs";

export const JOB_FIELDS = JSON.parse(readFileSync(new URL("./job_fields.json", import.meta.url)));

export function view(job) {
  return Object.fromEntries(JOB_FIELDS.map((f) => [f, job[f] ?? null]));
}
