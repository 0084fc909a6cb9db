"""bake throughput: 200 generated voice lines (espeak-ng, 2-6 s each, with their text), all
four formats, baked with 1 local worker, 2 local workers and Ray (--ray auto, 2 actors), each
into a fresh folder, then the 2-worker folder baked again unchanged. Same process, same lines,
after an untimed warm-up of 10 lines.
Also: each worker's resident memory after every line (flat = no leak over the batch).

    python bench/bake.py [--lines 200] [--formats json,csv,unity-anim,gltf] [--no-ray]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)
from bench.common import RESULTS, git_rev, machine  # noqa: E402

from bridge.bake.batch import bake  # noqa: E402
from bridge.bake.project import FORMATS, load_project  # noqa: E402

WORDS = ("the quick ranger found a silver key near the old mill and we should leave before the storm "
         "reaches our camp tonight because nobody knows what waits beyond the northern gate so keep "
         "your lantern close and tell the captain that the bridge is safe again").split()
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+m7", "en-gb-x-rp+f2"]


def make_lines(folder: str, n: int, seed: int = 0) -> str:
    """n espeak-ng lines of 2-6 s (the word count is chosen for it), and lines.csv."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 16))).capitalize() + "."
        wav = os.path.join(folder, f"line{i:04d}.wav")
        subprocess.run(["espeak-ng", "-v", rng.choice(VOICES), "-s", str(rng.randint(140, 180)), "-w", wav, text],
                       check=True, capture_output=True)
        rows.append([f"line{i:04d}", os.path.basename(wav), text])
    path = os.path.join(folder, "lines.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "audio", "text"])
        w.writerows(rows)
    return path


def run(name: str, manifest: str, out: str, project, formats, **kw) -> dict:
    t0 = time.monotonic()
    s = bake(manifest, out, project, formats=formats, **kw)
    wall = time.monotonic() - t0
    rss = {pid: v for pid, v in s.rss_mb.items() if v}
    # The first lines load models (the recogniser too, at the first line whose text does not
    # align): memory steps up early. A leak would keep climbing through the second half.
    growth = max((v[-1] - v[len(v) // 2] for v in rss.values()), default=0.0)
    row = dict(run=name, seconds=round(wall, 3), done=s.count("done"), skipped=s.count("skipped"),
               warned=s.warned,
               failed=s.count("failed"), lines_per_min=round(60 * (s.count("done") or s.count("skipped")) / wall, 1),
               workers_seen=len(rss), rss_first_mb=[round(v[0]) for v in rss.values()],
               rss_last_mb=[round(v[-1]) for v in rss.values()], rss_growth_second_half_mb=round(growth, 1),
               rss_quartiles_mb=[[round(v[min(len(v) - 1, k * len(v) // 4)]) for k in range(5)] for v in rss.values()],
               errors=[f"{o.id}: {o.error}" for o in s.outcomes if o.status == "failed"][:5])
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    formats = args.formats.split(",")
    work = tempfile.mkdtemp(prefix="facebridge-bench-bake-")
    try:
        manifest = make_lines(work, args.lines)
        project = load_project(None, image=os.path.join(ROOT, "samples", "astronaut.png"))
        # Untimed warm-up (10 lines): the first run would otherwise pay for cold file caches.
        warm = os.path.join(work, "warm.csv")
        with open(manifest, encoding="utf-8") as src, open(warm, "w", encoding="utf-8") as dst:
            dst.writelines(src.readlines()[:11])
        bake(warm, os.path.join(work, "warm"), project, formats=formats, workers=1)
        rows = [run("1 worker", manifest, os.path.join(work, "w1"), project, formats, workers=1),
                run("2 workers", manifest, os.path.join(work, "w2"), project, formats, workers=2)]
        if not args.no_ray:
            rows.append(run("ray auto (2 actors)", manifest, os.path.join(work, "ray"), project, formats,
                            workers=2, ray="auto"))
        rows.append(run("2 workers, unchanged re-run", manifest, os.path.join(work, "w2"), project, formats, workers=2))
        by = {r["run"]: r for r in rows}
        summary = dict(
            speedup_2_workers=round(by["1 worker"]["seconds"] / by["2 workers"]["seconds"], 2),
            rerun_speedup=round(by["2 workers"]["seconds"] / max(by["2 workers, unchanged re-run"]["seconds"], 1e-3), 1))
        if "ray auto (2 actors)" in by:
            summary["ray_vs_local"] = round(by["ray auto (2 actors)"]["seconds"] / by["2 workers"]["seconds"], 3)
        print(json.dumps(summary))
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, "bake.json"), "w") as f:
            json.dump(dict(date=datetime.date.today().isoformat(), machine=machine(), commit=git_rev(),
                           command=" ".join(["python bench/bake.py"] + sys.argv[1:]), lines=args.lines,
                           formats=formats, rows=rows, summary=summary), f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
