"""A real three-node Redis Cluster for the tests: Debian's redis-server in cluster mode.

Three primaries on free loopback ports, each in its own temporary directory (its nodes.conf
lives there, so a stopped node restarts as the same member), joined with
`redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`. Full slot coverage is not
required, so losing one primary only makes its own slots unavailable, as on a cluster whose
replicas have not taken over yet. Nodes keep an append-only file: a restarted node rejoins
with its nodes.conf and its data, which is how this cluster without replicas "heals".
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis

# How long the other nodes wait before marking a silent node as failed: short for the tests.
NODE_TIMEOUT_MS = 1000


@dataclass
class ClusterNode:
    port: int
    # The cluster bus port, free too: Redis' default (port + 10000) may be taken or past 65535.
    bus_port: int
    workdir: str
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        from tests.conftest import start_redis

        self.process = start_redis(
            self.port,
            "--dir",
            self.workdir,
            "--cluster-enabled",
            "yes",
            "--cluster-port",
            str(self.bus_port),
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            "--cluster-require-full-coverage",
            "no",
            # Kept on disk, so a node stopped and restarted comes back with its keys.
            "--appendonly",
            "yes",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)


@dataclass
class RedisClusterForTests:
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Any one node names the cluster; the first is as good as the others."""
        return self.nodes[0].url

    @classmethod
    def start(cls, ports: list[tuple[int, int]]) -> RedisClusterForTests:
        """Nodes on the given (client port, bus port) pairs, joined into one cluster."""
        cluster = cls(
            [
                ClusterNode(port, bus, tempfile.mkdtemp(prefix="drainboard-cluster-"))
                for port, bus in ports
            ]
        )
        from tests.conftest import wait_for

        try:
            for node in cluster.nodes:
                node.start()
            for node in cluster.nodes:
                wait_for(node.url)
        except redis.ConnectionError:
            cluster.stop()  # a node that never came up: its port was taken after it was picked
            raise
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{node.port}" for node in cluster.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cluster.wait_healthy()
        return cluster

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every node up and agreeing that the cluster is ok with all slots assigned."""
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for node in self.nodes:
                try:
                    with node.client() as client:
                        info = client.execute_command("CLUSTER", "INFO")
                        states.append(info)
                except redis.RedisError:
                    states.append("")
            if all(
                "cluster_state:ok" in s
                and "cluster_slots_ok:16384" in s
                and "cluster_known_nodes:3" in s
                for s in states
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the test cluster did not become healthy: {states}")
            time.sleep(0.1)

    def node_for_key(self, key: str) -> ClusterNode:
        """The primary serving the slot of `key`."""
        with self.nodes[0].client() as client:
            slot = client.execute_command("CLUSTER", "KEYSLOT", key)
            for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    port = int(primary[1])
                    return next(node for node in self.nodes if node.port == port)
        raise LookupError(f"no node serves the slot of {key!r}")

    def flush(self) -> None:
        for node in self.nodes:
            with node.client() as client:
                client.flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
            shutil.rmtree(node.workdir, ignore_errors=True)
