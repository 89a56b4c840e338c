"""An idle always-on Python `bullmq` worker (default options), for the cost-model validation.

python -m tests.idle_python_worker REDIS_URL QUEUE SECONDS
"""

import asyncio
import sys


async def main(url: str, queue: str, seconds: float) -> None:
    from bullmq import Worker

    async def process(job, token):
        return None

    worker = Worker(queue, process, {"connection": url})
    print("ready", flush=True)
    await asyncio.sleep(seconds)
    await worker.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
