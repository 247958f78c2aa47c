// VaultDaemon: what the service adds on top of the operations.
//
// - `Policy` / `PolicyLoader`: one JSON file per node: what to copy, how to get a consistent copy,
//   when, how long to keep it, how often to verify, the RPO, and what a restore must never roll
//   back. Decoded strictly: unknown fields, bad values and impossible combinations are errors
//   that name the file, the line and the field.
// - `Schedule` / `Scheduler`: intervals or daily/weekly UTC times with jitter; a missed run runs
//   once at start-up; time comes from a `WallClock` so tests use a fake one.
// - `JobQueue`: one job at a time per repository, in order, without duplicates.
