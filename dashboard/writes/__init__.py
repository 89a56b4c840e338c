"""Changes to queues and jobs, through the `bullmq` package's own scripts only."""
