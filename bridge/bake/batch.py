"""The batch: which lines to bake, baking them on worker processes (or Ray), writing each
line's folder atomically, progress with an ETA, report.json and a summary.

    out/<id>/            one folder per line: the assets, then bake.json (key and sources)
    out/report.json      every line's status (done, skipped, failed + its error) and the totals

A line's folder is built as out/.<id>.partial, then swapped in by rename: a killed run
leaves either the old folder or the new one, never a half-written one. A re-run skips the
lines whose bake.json holds the same content key, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from dataclasses import dataclass, field, replace

from bridge.bake.line import MARKER, Job, content_key, run_job
from bridge.bake.manifest import read_manifest
from bridge.bake.project import Project
from bridge.errors import InputError
from bridge.outputs.atomic import atomic_open

log = logging.getLogger(__name__)
REPORT = "report.json"
# One BLAS thread per worker: the workers already fill the cores, and OpenBLAS threads
# busy-wait between numpy's many small products (as in `serve`).
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Outcome:
    id: str | None
    status: str  # done | skipped | failed
    error: str | None = None
    warning: str | None = None  # done, but not as asked (e.g. the text did not align)
    seconds: float = 0.0
    row: int = 0


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    rss_mb: dict[int, list[float]] = field(default_factory=dict)  # worker pid -> RSS after each line

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def warned(self) -> int:
        return sum(o.warning is not None for o in self.outcomes)

    @property
    def lines_per_min(self) -> float:
        return 60.0 * self.count("done") / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> str:
        rows = [("done", self.count("done")), ("  of which warned", self.warned),
                ("skipped (unchanged)", self.count("skipped")), ("failed", self.count("failed"))]
        lines = [f"  {name:<20} {n:>7}" for name, n in rows]
        lines.append(f"  {'time':<20} {self.seconds:>6.1f}s")
        lines.append(f"  {'lines/min':<20} {self.lines_per_min:>7.1f}")
        return "\n".join(lines)


def bake(manifest: str, out: str, project: Project, formats: list[str] | None = None, workers: int = 1,
         ray: str | None = None, progress=None) -> Summary:
    """progress(done, total, eta_s) is called as lines finish. Workers are spawned processes:
    a script calling this needs the usual `if __name__ == "__main__":` guard."""
    t0 = time.monotonic()
    lines, row_errors = read_manifest(manifest)
    _prepare_out(out)
    formats = tuple(formats or project.formats)
    summary = Summary(outcomes=[Outcome(e.id, "failed", e.error, row=e.row) for e in row_errors])
    todo = []
    for line in lines:
        try:
            character = project.character(line.character)
        except KeyError as e:
            summary.outcomes.append(Outcome(line.id, "failed", f"row {line.row}: {e.args[0]}", row=line.row))
            continue
        job = Job(line, character, formats, project.renderer_path, project.head_path)
        try:
            job = replace(job, key=content_key(job))
        except OSError as e:
            what = "audio" if e.filename == line.audio else "image" if e.filename == character.image else "file"
            hint = "check the path (relative to the manifest)" if what == "audio" else "check the character's image"
            summary.outcomes.append(Outcome(line.id, "failed", f"row {line.row}: {what} {e.filename}: "
                                            f"{e.strerror or 'unreadable'}; {hint}", row=line.row))
            continue
        if _baked_key(out, line.id) == job.key:
            summary.outcomes.append(Outcome(line.id, "skipped", row=line.row))
        else:
            todo.append(job)
    runner = _run_ray if ray else _run_local
    done = 0
    started = time.monotonic()
    try:
        for job, result, error in runner(todo, workers, ray):
            if error is None:
                try:
                    _install(out, job.line.id, result["files"])
                except OSError as e:
                    error = f"cannot write {out}/{job.line.id} ({e.strerror})"
            if error is None:
                summary.outcomes.append(Outcome(job.line.id, "done", warning=result.get("warning"),
                                                seconds=round(result["seconds"], 3), row=job.line.row))
                summary.rss_mb.setdefault(result.get("pid", 0), []).append(round(result["rss_mb"], 1))
            else:
                summary.outcomes.append(Outcome(job.line.id, "failed", error, row=job.line.row))
            done += 1
            if progress:
                rate = done / max(time.monotonic() - started, 1e-6)
                progress(done, len(todo), (len(todo) - done) / rate)
    finally:
        summary.seconds = time.monotonic() - t0
        _write_report(out, summary, manifest, formats)
    return summary


# ---------------------------------------------------------------- the output folder
def _prepare_out(out: str) -> None:
    name = f"--out {out}"
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(name, "exists and is not a directory", "pass a directory path")
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".facebridge-write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise InputError(name, f"is not writable ({e.strerror})", "pass a folder you can write to") from None
    for entry in os.listdir(out):  # what a killed run left half-done
        if entry.startswith(".") and (".partial" in entry or ".old" in entry):
            shutil.rmtree(os.path.join(out, entry), ignore_errors=True)


def _baked_key(out: str, line_id: str) -> str | None:
    try:
        with open(os.path.join(out, line_id, MARKER), encoding="utf-8") as f:
            return json.load(f).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def _install(out: str, line_id: str, files: dict[str, bytes]) -> None:
    """Write the line's files into out/.<id>.partial, bake.json last, then swap it in."""
    final, staging, old = (os.path.join(out, line_id), os.path.join(out, f".{line_id}.partial"),
                           os.path.join(out, f".{line_id}.old"))
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in sorted(files, key=lambda n: n == MARKER):
        with open(os.path.join(staging, name), "wb") as f:
            f.write(files[name])
    if os.path.exists(final):
        os.rename(final, old)
    os.rename(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def _write_report(out: str, summary: Summary, manifest: str, formats) -> None:
    report = {
        "manifest": os.path.abspath(manifest), "formats": list(formats),
        "done": summary.count("done"), "skipped": summary.count("skipped"), "failed": summary.count("failed"),
        "warned": summary.warned,
        "seconds": round(summary.seconds, 2), "lines_per_min": round(summary.lines_per_min, 1),
        "lines": [{k: v for k, v in o.__dict__.items() if v not in (None, 0, 0.0) or k == "status"}
                  for o in sorted(summary.outcomes, key=lambda o: o.row)],
    }
    try:
        with atomic_open(os.path.join(out, REPORT), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1, ensure_ascii=False)
            f.write("\n")
    except OSError as e:
        log.error("cannot write %s (%s)", os.path.join(out, REPORT), e.strerror)


# ---------------------------------------------------------------- local worker processes
def _run_local(jobs: list[Job], workers: int, _ray=None):
    """Yield (job, result, error) as lines finish. Each worker keeps its models loaded for the
    whole batch. At most one line per worker is in flight, so when a worker dies (killed, out
    of memory) the pool is rebuilt and only those lines are retried, each alone; a line that
    dies again alone is reported as failed."""
    queue = list(reversed(jobs))
    deaths: dict[str, int] = {}
    for var, value in WORKER_ENV.items():  # spawned workers inherit it; the user's setting wins
        os.environ.setdefault(var, value)
    while queue:
        ctx = multiprocessing.get_context("spawn")  # no inherited threads or model sessions
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            running: dict[cf.Future, Job] = {}
            broken = False
            while (queue or running) and not broken:
                while queue and len(running) < workers:
                    # A line in flight when a worker died runs alone next: only it can be charged.
                    suspect = deaths.get(queue[-1].line.id, 0) > 0
                    if running and (suspect or any(deaths.get(j.line.id, 0) for j in running.values())):
                        break
                    job = queue.pop()
                    running[pool.submit(run_job, job)] = job
                finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    job = running.pop(fut)
                    try:
                        result = fut.result()
                    except cf.process.BrokenProcessPool:
                        broken = True
                        running[fut] = job  # retried below with the rest in flight
                        continue
                    yield job, (None if "error" in result else result), result.get("error")
            if broken:
                for job in running.values():
                    deaths[job.line.id] = deaths.get(job.line.id, 0) + 1
                    if deaths[job.line.id] >= 2 and len(running) == 1:
                        yield job, None, "the worker process died twice while baking this line (killed, or out of memory?)"
                    else:
                        log.warning("a worker died; retrying line %s", job.line.id)
                        queue.append(job)


def _run_ray(jobs: list[Job], workers: int, address: str):
    from bridge.bake.ray_run import run_on_ray

    yield from run_on_ray(jobs, workers, address)


def print_progress(stream=sys.stderr):
    """A progress callback: a live line on a terminal, a line per 10 % otherwise."""
    tty = stream.isatty()
    last = [-1]

    def show(done: int, total: int, eta: float) -> None:
        pct = 100 * done // max(total, 1)
        if not tty and pct // 10 == last[0] // 10 and done < total:
            return
        last[0] = pct
        width = 30
        bar = "#" * (width * done // max(total, 1))
        text = f"baking [{bar:<{width}}] {done}/{total} lines, ETA {_clock(eta)}"
        stream.write(("\r\033[K" + text + ("\n" if done == total else "")) if tty else text + "\n")
        stream.flush()
    return show


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
