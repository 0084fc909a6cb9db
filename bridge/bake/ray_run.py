"""bake on Ray (the `facebridge[ray]` extra): the same lines as tasks on actors, each actor a
worker that loads the models once; results come back to the driver, which alone writes the
folders and the report (batch.py), so the assets are byte for byte the local run's.

--ray auto starts a local Ray with one actor per --workers; --ray ray://HEAD:10001 joins a
cluster (docs/bake.md: what the workers need). An actor that dies (killed, out of memory) is
restarted and its line retried by Ray, up to RETRIES times."""

from __future__ import annotations

import logging

from bridge.errors import InputError

log = logging.getLogger(__name__)
RETRIES = 2


class _Baker:
    """One Ray actor: a worker process holding the models (bake_line's caches)."""

    def bake(self, job):
        from bridge.bake.line import run_job

        return run_job(job)


def run_on_ray(jobs, workers: int, address: str):
    """Yield (job, result, error) as lines finish."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray", "needs Ray, which is not installed",
                         "pip install 'facebridge[ray]' (on the driver and every worker)") from None
    from bridge.bake.batch import WORKER_ENV

    started_here = not ray.is_initialized()
    if started_here:
        quiet = dict(log_to_driver=False, logging_level=logging.WARNING, runtime_env={"env_vars": WORKER_ENV})
        try:
            if address == "auto":
                ray.init(num_cpus=workers, include_dashboard=False, **quiet)
            else:
                ray.init(address=address, **quiet)
        except Exception as e:  # ConnectionError and Ray's own types
            raise InputError(f"--ray {address}", f"cannot start or reach Ray ({str(e).splitlines()[0][:160]})",
                             "use auto for a local Ray, or the ray://HEAD:10001 address of a running cluster") from None
    try:
        baker = ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)(_Baker)
        actors = [baker.remote() for _ in range(max(1, min(workers, len(jobs))))]
        queue = list(reversed(jobs))
        running = {}
        free = list(actors)
        while queue or running:
            while queue and free:
                actor, job = free.pop(), queue.pop()
                running[actor.bake.remote(job)] = (job, actor)
            [ref], _ = ray.wait(list(running), num_returns=1)
            job, actor = running.pop(ref)
            free.append(actor)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died more often than Ray retries
                yield job, None, f"the Ray worker died while baking this line ({type(e).__name__})"
                continue
            if "error" in result:
                yield job, None, result["error"]
            else:
                yield job, result, None
    finally:
        if started_here:
            ray.shutdown()
