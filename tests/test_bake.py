"""facebridge bake: a manifest -> one folder of assets per line, incremental, resumable,
every bad row reported on its own; the local pool and Ray give the same bytes."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import FACE, HELLO_TXT, HELLO_WAV, ROOT, run_cli

FORMATS = "json,csv"
HELLO = open(HELLO_TXT, encoding="utf-8").read().strip()


def _project(tmp_path, rows, header="id,audio,text,emotion,character"):
    """A manifest folder: the sample face and speech copied in, rows as given."""
    shutil.copy(HELLO_WAV, tmp_path / "hello.wav")
    shutil.copy(FACE, tmp_path / "face.png")
    with open(tmp_path / "lines.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header.split(","))
        w.writerows(rows)
    return tmp_path / "lines.csv"


def _bake(manifest, out, *extra, formats=FORMATS, timeout=600):
    return run_cli("bake", str(manifest), "--out", str(out), "--formats", formats, "--workers", "2",
                   "--image", str(manifest.parent / "face.png"), *extra, timeout=timeout)


def _report(out):
    with open(out / "report.json", encoding="utf-8") as f:
        return json.load(f)


def _status(out):
    return {(l.get("id"), l["row"]): (l["status"], l.get("error", "")) for l in _report(out)["lines"]}


def _tree(folder):
    """{relative path: bytes} of every file under folder."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def test_bad_rows_are_reported_each_and_the_good_lines_are_baked(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    manifest = _project(tmp_path, [
        ["hello", "hello.wav", HELLO, "", ""],
        ["happy", "hello.wav", "", "joy", ""],
        ["lost", "missing.wav", "", "", ""],          # audio file missing
        ["hello", "hello.wav", "", "", ""],           # duplicate id
        ["", "hello.wav", "", "", ""],                # no id
        ["noaudio", "", "", "", ""],                  # no audio
        ["villain", "hello.wav", "", "", "villain"],  # unknown character
        ["zero", "empty.wav", "", "", ""],            # 0-byte audio: fails in the worker
        ["../escape", "hello.wav", "", "", ""],       # an id that is not a folder name
    ])
    out = tmp_path / "out"
    r = _bake(manifest, out)
    assert r.returncode == 1, r.stderr  # some lines failed: a pipeline sees it
    st = _status(out)
    assert st[("hello", 2)][0] == "done" and st[("happy", 3)][0] == "done"
    assert "missing.wav" in st[("lost", 4)][1] and "relative to the manifest" in st[("lost", 4)][1]
    assert "duplicate id 'hello' (first on row 2)" in st[("hello", 5)][1]
    assert "missing id" in st[(None, 6)][1]
    assert "missing audio" in st[("noaudio", 7)][1]
    assert "unknown character 'villain'" in st[("villain", 8)][1]
    assert st[("zero", 9)][0] == "failed" and "empty.wav" in st[("zero", 9)][1]
    assert "cannot name a folder" in st[("../escape", 10)][1]
    rep = _report(out)
    assert (rep["done"], rep["failed"], rep["skipped"]) == (2, 7, 0)
    assert "failed: lost:" in r.stderr and "done" in r.stdout and "lines/min" in r.stdout
    # The good lines are complete; nothing half-written, nothing outside out/.
    for line_id in ("hello", "happy"):
        files = sorted(os.listdir(out / line_id))
        assert files == ["animation.json", "bake.json", "curves.csv"], files
        anim = json.loads((out / line_id / "animation.json").read_text())
        assert len(anim["blendshapes"]) > 30
    assert sorted(os.listdir(out)) == ["happy", "hello", "report.json"]
    assert not (tmp_path / "escape").exists()


def test_a_text_that_does_not_align_bakes_from_the_audio_with_a_warning(tmp_path):
    manifest = _project(tmp_path, [["odd", "hello.wav", "Bananas are yellow and monkeys eat them every single day.",
                                    "", ""]])
    out = tmp_path / "out"
    r = _bake(manifest, out)
    assert r.returncode == 0, r.stderr
    line = _report(out)["lines"][0]
    assert line["status"] == "done" and "forced alignment failed" in line["warning"]
    assert "baked from the audio alone" in line["warning"] and "warning: odd:" in r.stderr
    anim = json.loads((out / "odd" / "animation.json").read_text())
    jaw = np.array(anim["blendshapes"])[:, anim["blendshape_names"].index("jawOpen")]
    assert jaw.max() > 0.2  # the lips still follow the speech


def test_unchanged_lines_are_skipped_and_a_changed_one_is_rebaked(tmp_path):
    manifest = _project(tmp_path, [["a", "hello.wav", HELLO, "", ""], ["b", "hello.wav", "", "sadness", ""]])
    out = tmp_path / "out"
    assert _bake(manifest, out).returncode == 0
    before = {p: os.stat(out / p).st_mtime_ns for p in ("a/animation.json", "b/animation.json")}
    time.sleep(0.05)
    r = _bake(manifest, out)
    assert r.returncode == 0 and (_report(out)["skipped"], _report(out)["done"]) == (2, 0)
    assert all(os.stat(out / p).st_mtime_ns == t for p, t in before.items())  # not rewritten
    # Change b's emotion: b alone is baked again, and shows it.
    _project(tmp_path, [["a", "hello.wav", HELLO, "", ""], ["b", "hello.wav", "", "joy", ""]])
    r = _bake(manifest, out)
    assert r.returncode == 0 and _status(out)[("a", 2)][0] == "skipped" and _status(out)[("b", 3)][0] == "done"
    assert json.loads((out / "b" / "bake.json").read_text())["source"]["emotion"] == "joy"
    # Asking for another format set is a change too.
    r = _bake(manifest, out, formats="csv")
    assert _report(out)["done"] == 2 and sorted(os.listdir(out / "a")) == ["bake.json", "curves.csv"]


def _start(manifest, out, workers, *extra, **popen):
    """A bake running in the background (the real CLI), to kill things under it."""
    return subprocess.Popen([sys.executable, "-m", "bridge", "bake", str(manifest), "--out", str(out),
                             "--formats", FORMATS, "--workers", str(workers),
                             "--image", str(manifest.parent / "face.png"), *extra], cwd=ROOT, **popen)


def _wait_for(path, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.05)


def _processes():
    """(pid, parent pid, command line) of every process (Linux /proc)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    yield int(entry), ppid, f.read()
            except OSError:
                pass


def _workers_of(pid):
    """Pids of the spawned worker processes below pid."""
    return [p for p, ppid, cmd in _processes() if ppid == pid and b"spawn_main" in cmd]


def _kill_one_and_finish(proc, pids, out, lines):
    """SIGKILL the first of pids (a worker of the running bake proc); the bake must still
    finish every line. -> its stderr."""
    assert pids, "no worker process found"
    os.kill(pids[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    rep = _report(out)
    assert rep["done"] == lines and rep["failed"] == 0
    return stderr


def _running_bake(tmp_path, lines, workers, *extra, **popen):
    """A background bake of `lines` copies of the sample line, once its first line is done."""
    manifest = _project(tmp_path, [[f"line{i}", "hello.wav", "", "", ""] for i in range(lines)])
    out = tmp_path / "out"
    proc = _start(manifest, out, workers, *extra, **popen)
    _wait_for(out / "line0" / "bake.json")
    return proc, out, manifest


def test_a_killed_bake_resumes_and_leaves_nothing_half_written(tmp_path):
    proc, out, manifest = _running_bake(tmp_path, 8, 1, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
    _wait_for(out / "line1" / "bake.json")
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-batch
    proc.wait()
    finished = [d for d in os.listdir(out) if not d.startswith(".") and d != "report.json"]
    assert 2 <= len(finished) < 8, finished
    for d in finished:  # every folder that looks complete is complete
        assert sorted(os.listdir(out / d)) == ["animation.json", "bake.json", "curves.csv"]
        json.loads((out / d / "animation.json").read_text())
    r = _bake(manifest, out)
    assert r.returncode == 0, r.stderr
    rep = _report(out)
    assert rep["skipped"] == len(finished) and rep["done"] == 8 - len(finished)
    assert not [d for d in os.listdir(out) if d.startswith(".")]  # the killed run's staging is gone


def test_a_worker_killed_mid_batch_is_replaced_and_its_line_retried(tmp_path):
    proc, out, _ = _running_bake(tmp_path, 6, 2, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stderr = _kill_one_and_finish(proc, _workers_of(proc.pid), out, 6)
    assert "a worker died; retrying line" in stderr


def test_ray_bakes_the_same_bytes_as_the_local_pool(tmp_path):
    pytest.importorskip("ray")
    manifest = _project(tmp_path, [["a", "hello.wav", HELLO, "", ""], ["b", "hello.wav", "", "fear", ""]])
    every = "json,csv,unity-anim,gltf"
    assert _bake(manifest, tmp_path / "local", formats=every).returncode == 0
    r = _bake(manifest, tmp_path / "ray", "--ray", "auto", formats=every)
    assert r.returncode == 0, r.stderr
    local, ray = _tree(tmp_path / "local"), _tree(tmp_path / "ray")
    local.pop("report.json"), ray.pop("report.json")
    assert sorted(local) == sorted(ray) and len(local) == 10
    assert {"a/a.anim", "a/a.glb", "b/b.anim", "b/b.glb"} <= set(local)
    assert all(local[k] == ray[k] for k in local), [k for k in local if local[k] != ray[k]]


def test_unusable_manifests_and_outputs_are_one_clear_error(tmp_path):
    manifest = _project(tmp_path, [["a", "hello.wav", "café", "", ""]])
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(manifest.read_bytes().decode("utf-8").encode("latin-1"))
    r = _bake(latin1, tmp_path / "out")
    assert r.returncode == 1 and f"manifest {latin1}: is not UTF-8 (byte" in r.stderr and "line 2" in r.stderr
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
    noheader = tmp_path / "noheader.csv"
    noheader.write_text("a,hello.wav\n", encoding="utf-8")
    r = _bake(noheader, tmp_path / "out")
    assert r.returncode == 1 and "has no id and audio columns" in r.stderr and "header row" in r.stderr
    r = _bake(tmp_path / "nope.csv", tmp_path / "out")
    assert r.returncode == 1 and "nope.csv: not found" in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _bake(manifest, blocker / "out")
    assert r.returncode == 1 and "is not writable" in r.stderr
    r = run_cli("bake", str(manifest), "--out", str(tmp_path / "o"), "--formats", "json,fbx")
    assert r.returncode == 1 and "fbx is not a format" in r.stderr
    bad_toml = tmp_path / "facebridge.toml"
    bad_toml.write_text("[characters.narrator\nimage = 1\n")
    r = run_cli("bake", str(manifest), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and f"project file {bad_toml}: is not valid TOML" in r.stderr


def test_jsonl_manifest_and_characters_from_the_project_file(tmp_path):
    _project(tmp_path, [])
    (tmp_path / "facebridge.toml").write_text(
        'formats = ["csv"]\n[characters.narrator]\nimage = "face.png"\nfps = 25\nseed = 3\n', encoding="utf-8")
    manifest = tmp_path / "lines.jsonl"
    manifest.write_text("\n".join([
        json.dumps({"id": "n1", "audio": "hello.wav", "text": HELLO, "character": "narrator"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"id": "n2", "audio": "hello.wav", "character": "nobody"}),
    ]) + "\n", encoding="utf-8")
    r = run_cli("bake", str(manifest), "--out", str(tmp_path / "out"), "--workers", "1")
    assert r.returncode == 1, r.stderr
    st = _status(tmp_path / "out")
    assert st[("n1", 1)][0] == "done"
    assert "not JSON" in st[(None, 2)][1] and "not a JSON object" in st[(None, 3)][1]
    assert "unknown character 'nobody' (facebridge.toml has: narrator)" in st[("n2", 4)][1]
    assert os.listdir(tmp_path / "out" / "n1") == ["bake.json", "curves.csv"] or \
        sorted(os.listdir(tmp_path / "out" / "n1")) == ["bake.json", "curves.csv"]
    with open(tmp_path / "out" / "n1" / "curves.csv", encoding="utf-8") as f:
        times = next(csv.reader(f))[1:]
    assert float(times[1]) == pytest.approx(1 / 25, abs=1e-4)  # the character's fps


def test_csv_curves_read_back_as_the_animation(tmp_path):
    """The CSV (Unreal curve table layout) read by the csv module: the same curves."""
    from bridge.outputs.curves_csv import POSE_CURVES, write_curves_csv
    from bridge.pipeline import animate

    anim, _ = animate(FACE, HELLO_WAV, text=HELLO, emotion="joy")
    path = tmp_path / "curves.csv"
    write_curves_csv(str(path), anim)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    times = np.array([float(t) for t in rows[0][1:]])
    assert np.allclose(times, np.arange(anim.n_frames) / anim.fps, atol=1e-4)
    names = [r[0] for r in rows[1:]]
    assert names == list(anim.names) + POSE_CURVES
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert np.allclose(values[:52].T, anim.weights, atol=1e-4)
    assert np.allclose(values[52:].T, anim.head_pose, atol=1e-3)
    bad = anim.weights.copy()
    bad[3, 5] = np.nan
    anim.weights, good = bad, anim.weights
    with pytest.raises(ValueError, match="NaN"):
        write_curves_csv(str(tmp_path / "bad.csv"), anim)
    anim.weights = good
    assert not (tmp_path / "bad.csv").exists() and not (tmp_path / "bad.csv.partial").exists()


def _ray_bakers():
    """Pids of the Ray actor processes baking lines (Ray titles them ray::_Baker...)."""
    return [p for p, _, cmd in _processes() if cmd.startswith(b"ray::_Baker")]


def test_a_ray_worker_killed_mid_batch_is_restarted_and_its_line_retried(tmp_path):
    pytest.importorskip("ray")
    proc, out, _ = _running_bake(tmp_path, 6, 2, "--ray", "auto", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    _kill_one_and_finish(proc, _ray_bakers(), out, 6)
