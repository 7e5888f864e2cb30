"""Code interpreter latency: container start (cold and warm) and per-call execution, p50/p90.

Run: ``python bench/bench_code_interpreter.py``. Cold start spawns and confines a worker;
warm start takes the pre-started one (the manager refills it in the background). Figures only.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from antiphon.tools.code_interpreter import ContainerManager, SandboxLimits, SandboxPolicy

ROUNDS = 30
EXECS = 200


def _report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p90 = ordered[int(len(ordered) * 0.9) - 1] * 1000
    print(f"{name:<34} p50 {p50:7.2f} ms   p90 {p90:7.2f} ms   (n={len(ordered)})")


async def bench_start(policy: SandboxPolicy, name: str) -> None:
    limits = SandboxLimits(max_containers=ROUNDS + 1)
    async with ContainerManager(limits, policy) as manager:
        samples: list[float] = []
        for _ in range(ROUNDS):
            if policy.warm_worker:
                await asyncio.sleep(0.2)  # let the refill finish: we measure the warm path
            started = time.perf_counter()
            await manager.run(None, "None")
            samples.append(time.perf_counter() - started)
    _report(name, samples)


async def bench_exec() -> None:
    async with ContainerManager() as manager:
        container = (await manager.run(None, "total = 0")).container_id
        for code, name in (("total += 1", "exec: statement"), ("print(total)", "exec: print")):
            samples: list[float] = []
            for _ in range(EXECS):
                started = time.perf_counter()
                await manager.run(container, code)
                samples.append(time.perf_counter() - started)
            _report(name, samples)


async def main() -> None:
    async with ContainerManager() as probe:
        active = [p.name for p in probe.protections if p.active]
    print("active protections:", ", ".join(active))
    await bench_start(SandboxPolicy(warm_worker=False), "first call, cold container")
    await bench_start(SandboxPolicy(), "first call, warm container")
    await bench_exec()


if __name__ == "__main__":
    asyncio.run(main())
