"""The no-plugin outputs, for real: Live Link Face and VMC packets from `serve`, `play` and
`capture`, received on loopback UDP sockets and decoded the way the receiving apps do (the
Live Link layout parsed here from its published description, VMC with python-osc's parser)."""

import json
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import FACE, HELLO_WAV, ROOT, run_cli, shared_video

from bridge.client import Client, ServerError
from bridge.motion import arkit

LLF_NAMES = list(arkit.NAMES) + ["HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                                 "RightEyeYaw", "RightEyePitch", "RightEyeRoll"]
J = arkit.INDEX["jawOpen"]


class Receiver:
    """A UDP socket on 127.0.0.1 read by its own thread, so no datagram waits in the kernel
    buffer (a VMC bundle is 3 KB: a few hundred would overflow it)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.packets.append((time.monotonic(), data))

    def wait_quiet(self, quiet_s=0.5, timeout=30):
        """Until no packet came for quiet_s."""
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            last = self.packets[-1][0] if self.packets else 0
            if self.packets and time.monotonic() - last > quiet_s:
                return
            time.sleep(0.05)

    def close(self):
        self._stop.set()
        self.thread.join(1)
        self.sock.close()


def parse_llf(data: bytes) -> dict:
    """A Live Link Face packet per its published layout (big-endian): version, device id,
    subject name, frame time (frame, sub-frame, rate numerator/denominator), count, floats."""
    version = data[0]
    off = 1
    strings = []
    for _ in range(2):
        (n,) = struct.unpack_from(">i", data, off)
        strings.append(data[off + 4:off + 4 + n].decode())
        off += 4 + n
    frame, sub, num, den, count = struct.unpack_from(">ifiiB", data, off)
    off += 17
    values = struct.unpack_from(f">{count}f", data, off)
    assert off + 4 * count == len(data)
    return dict(version=version, device=strings[0], subject=strings[1], frame=frame, rate=num / den,
                values=dict(zip(LLF_NAMES, values)))


def parse_vmc(data: bytes) -> list[tuple]:
    from pythonosc.osc_packet import OscPacket

    return [(m.message.address, list(m.message.params)) for m in OscPacket(data).messages]


def quat_to_pose(x, y, z, w):
    """The Head bone's Unity rotation -> our pitch, yaw, roll (degrees), the inverse of the sender's."""
    from scipy.spatial.transform import Rotation

    # Unity applies Z, then X, then Y (intrinsic Y-X-Z); the sender negates pitch and yaw.
    yu, xu, zu = Rotation.from_quat([x, y, z, w]).as_euler("YXZ", degrees=True)
    return -xu, -yu, zu


def start_daemon(*extra):
    p = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--control", "tcp://127.0.0.1:*", "--data",
                          "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = p.stdout.readline()
    m = re.search(r"control (\S+)\s+data (\S+)", line)
    assert m, (line, p.stderr.read() if p.poll() is not None else "")
    return p, m.group(1), m.group(2), line


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(10)


@pytest.fixture(scope="module")
def served():
    """`serve --livelink --vmc` with one clip spoken: the subscriber's frames and what each
    receiver got (plus a Live Link target nobody listens on, which must not matter)."""
    ll, vmc = Receiver(), Receiver()
    nobody = Receiver()
    nobody.close()  # a port with no listener
    p, control, data, line = start_daemon("--livelink", f"127.0.0.1:{ll.port}", "--vmc", f"127.0.0.1:{vmc.port}",
                                          "--livelink", f"127.0.0.1:{nobody.port}")
    try:
        with Client(control, data, timeout_s=60) as c:
            c.hello()
            avatar = c.create_avatar(open(FACE, "rb").read())
            c.subscribe(avatar)
            t_ok = time.monotonic()
            ok = c.speak(avatar, audio=open(HELLO_WAV, "rb").read())
            frames = []
            for f in c.frames():
                frames.append((time.monotonic(), f))
            ll.wait_quiet()
            vmc.wait_quiet()
            stats = c.stats()
        yield dict(line=line, avatar=avatar, ok=ok, t_ok=t_ok, frames=frames, ll=list(ll.packets),
                   vmc=list(vmc.packets), stats=stats, alive=p.poll() is None)
    finally:
        ll.close()
        vmc.close()
        stop(p)


def test_livelink_packets_carry_every_frame_on_the_audio_clock(served):
    frames = [f for _, f in served["frames"]]
    packets = [parse_llf(d) for _, d in served["ll"]]
    assert "livelink 127.0.0.1:" in served["line"]
    assert len(packets) == len(frames) == served["ok"]["frames"]
    assert {p["version"] for p in packets} == {6} and {p["subject"] for p in packets} == {served["avatar"]}
    assert [p["frame"] for p in packets] == list(range(len(packets)))  # the frame counter
    assert {p["rate"] for p in packets} == {30.0}
    # Curves in ARKit order, equal to the daemon's own frames; jawOpen moves with the speech.
    for p, f in zip(packets, frames):
        assert np.allclose([p["values"][n] for n in arkit.NAMES], f.blendshapes, atol=1e-6)
        assert np.allclose([p["values"]["HeadPitch"], p["values"]["HeadYaw"], p["values"]["HeadRoll"]],
                           f.head_pose[:3] / 180, atol=1e-6)
    jaw = np.array([p["values"]["jawOpen"] for p in packets])
    assert jaw.max() > 0.3 and jaw[-3:].max() < 0.1  # open in speech, closed after it
    blinks = [p for p, f in zip(packets, frames) if f.blendshapes[arkit.INDEX["eyeBlinkLeft"]] > 0.5]
    assert blinks and all(p["values"]["eyeBlinkLeft"] > 0.5 for p in blinks)
    # One packet per frame, at the frame rate, on the audio clock: a frame's packet leaves at
    # its pts, the lookahead (0.1 s) after the subscriber got the same frame.
    times = np.array([t for t, _ in served["ll"]])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 27 <= rate <= 33, rate
    lag = np.median(times - np.array([t for t, _ in served["frames"]]))
    assert 0.05 <= lag <= 0.2, lag


def test_vmc_bundles_hold_arkit_and_vrm_shapes_head_and_apply(served):
    frames = [f for _, f in served["frames"]]
    bundles = [parse_vmc(d) for _, d in served["vmc"]]
    assert len(bundles) == len(frames)
    jaw_a = []
    for b, f in zip(bundles, frames):
        addresses = [a for a, _ in b]
        assert addresses[0] == "/VMC/Ext/OK" and addresses[-1] == "/VMC/Ext/Blend/Apply"  # Apply after the values
        blend = {args[0]: args[1] for a, args in b if a == "/VMC/Ext/Blend/Val"}
        assert set(arkit.NAMES) <= set(blend) and {"A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", "Joy",
                                                  "Angry", "Sorrow"} <= set(blend)
        assert np.allclose([blend[n] for n in arkit.NAMES], f.blendshapes, atol=1e-6)
        assert all(0.0 <= v <= 1.0 for v in blend.values())
        (head,) = [args for a, args in b if a == "/VMC/Ext/Bone/Pos"]
        assert head[0] == "Head"
        assert np.allclose(quat_to_pose(*head[4:8]), f.head_pose[:3], atol=0.01)
        jaw_a.append((f.blendshapes[J], blend["A"] + blend["O"] + blend["E"]))
    jaw, open_vowels = np.array(jaw_a).T
    assert np.corrcoef(jaw, open_vowels)[0, 1] > 0.8  # the VRM mouth opens with the jaw


def test_a_receiver_nobody_listens_on_changes_nothing(served):
    assert served["alive"] and served["stats"]["frames_sent"] >= served["ok"]["frames"]
    assert not served["stats"]["errors"]


@pytest.mark.parametrize("args, problem", [
    (["--livelink", "nohost"], "--livelink nohost: is not [AVATAR=]HOST:PORT"),
    (["--vmc", "127.0.0.1:99999"], "--vmc 127.0.0.1:99999: port 99999 is out of range"),
    (["--livelink", "a1=no-such-host.invalid:11111"], "cannot resolve host 'no-such-host.invalid'"),
])
def test_serve_refuses_bad_targets_in_one_line(args, problem):
    r = run_cli("serve", "--control", "tcp://127.0.0.1:*", "--data", "tcp://127.0.0.1:*", "--video",
                "tcp://127.0.0.1:*", *args, timeout=60)
    assert r.returncode == 1 and problem in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_vmc_avatar_target_sends_only_that_avatar():
    from bridge.outputs.vmc import VmcSender
    from bridge.protocol import Frame

    rx = Receiver()
    try:
        s = VmcSender("127.0.0.1", rx.port, avatar="b")
        for name in ("a", "b", "a"):
            s.frame(Frame(avatar=name, kind="anim", seq=0, pts=0.0, t_ns=0, mode="speaking", utterance=1,
                          emotion="neutral", blendshapes=np.full(52, 0.5, np.float32), head_pose=np.zeros(6, np.float32)))
        rx.wait_quiet(0.2, timeout=5)
        assert len(rx.packets) == 1
        s.close()
    finally:
        rx.close()


# ---------------------------------------------------------------- play
def write_animation(path, n=60, fps=30.0):
    t = np.arange(n) / fps
    w = np.zeros((n, 52))
    w[:, J] = 0.5 + 0.4 * np.sin(2 * np.pi * 2 * t)
    pose = np.zeros((n, 6))
    pose[:, 1] = 10 * np.sin(2 * np.pi * t)
    names = list(arkit.NAMES)[::-1]  # another order: play maps by name
    json.dump({"version": 1, "fps": fps, "duration_s": n / fps, "mode": "speaking", "image_size": [512, 512],
               "blendshape_names": names, "blendshapes": w[:, ::-1].round(4).tolist(),
               "head_pose": pose.round(3).tolist()}, open(path, "w"))
    return w, pose


def test_play_replays_a_file_in_real_time_to_livelink_and_vmc(tmp_path):
    w, pose = write_animation(tmp_path / "animation.json")
    ll, vmc = Receiver(), Receiver()
    try:
        t0 = time.monotonic()
        r = run_cli("play", str(tmp_path / "animation.json"), "--livelink", f"127.0.0.1:{ll.port}",
                    "--vmc", f"127.0.0.1:{vmc.port}", "--name", "shot12", timeout=60)
        wall = time.monotonic() - t0
        ll.wait_quiet(0.2, timeout=5)
        vmc.wait_quiet(0.2, timeout=5)
        assert r.returncode == 0, r.stderr
        assert "played" in r.stderr and "60 of 60 frames" in r.stderr
        packets = [parse_llf(d) for _, d in ll.packets]
        assert len(packets) == 60 and {p["subject"] for p in packets} == {"shot12"}
        assert np.allclose([p["values"]["jawOpen"] for p in packets], w[:, J], atol=1e-4)
        assert np.allclose([p["values"]["HeadYaw"] * 180 for p in packets], pose[:, 1], atol=1e-3)
        times = np.array([t for t, _ in ll.packets])
        assert 1.8 < times[-1] - times[0] < 2.3 and wall >= 1.9  # 60 frames at 30 fps, in real time
        assert len(vmc.packets) == 60
    finally:
        ll.close()
        vmc.close()


def test_play_serves_the_file_to_subscribers(tmp_path):
    write_animation(tmp_path / "animation.json", n=150)
    p = subprocess.Popen([sys.executable, "-m", "bridge", "play", str(tmp_path / "animation.json"), "--serve",
                          "--control", "tcp://127.0.0.1:*", "--data", "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = p.stdout.readline()
        m = re.search(r"control (\S+)\s+data (\S+)", line)
        assert m and "avatar player" in line, line
        with Client(m.group(1), m.group(2), timeout_s=10) as c:
            c.hello()
            c.subscribe("player")
            with pytest.raises(ServerError, match="player is speaking .*file player"):
                c.speak("player", audio=open(HELLO_WAV, "rb").read())  # a file player takes no speech
            frames = list(c.frames())  # until the file's final frame
            assert frames[-1].final and frames[-1].seq == 149 and len(frames) > 100  # joined a little late
            assert {f.mode for f in frames} == {"speaking"}
        assert p.wait(20) == 0
    finally:
        stop(p)


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty (0 bytes)"),
    (b"{not json", "is not valid JSON"),
    (b'{"fps": 30, "blendshape_names": ["x"], "blendshapes": [[0.1]], "head_pose": [[0,0,0,0,0,0]]}',
     "no ARKit blendshape names"),
    (b'{"fps": 30}', "is not a facebridge animation"),
])
def test_play_bad_files(tmp_path, content, problem):
    path = tmp_path / "animation.json"
    path.write_bytes(content)
    r = run_cli("play", str(path), "--livelink", "127.0.0.1:9", timeout=60)
    assert r.returncode == 1 and problem in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


# ---------------------------------------------------------------- capture
def mouth_opening(points):
    span = np.linalg.norm(points[:, 263, :2] - points[:, 33, :2], axis=1)
    return np.linalg.norm(points[:, 13, :2] - points[:, 14, :2], axis=1) / span


def test_capture_from_a_video_tracks_the_mouth(tmp_path):
    from bridge.train.tracking import track_video

    video = shared_video("lp_d11")
    r = run_cli("capture", "--camera", video, "--out", str(tmp_path), timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"captured 225 frames in [\d.]+ s \([\d.]+ frames/s\)", r.stderr), r.stderr
    a = json.load(open(tmp_path / "animation.json"))
    assert a["mode"] == "performing" and a["blendshape_names"] == arkit.NAMES and len(a["blendshapes"]) == 225
    assert np.array(a["landmarks"]).shape == (225, 478, 3)
    points, _ = track_video(video)
    gap = mouth_opening(points)
    ok = np.isfinite(gap)
    jaw = np.array(a["blendshapes"])[:, J]
    assert np.corrcoef(jaw[ok], gap[ok])[0, 1] >= 0.8


def test_capture_drives_livelink_and_serves_a_performing_avatar(tmp_path):
    video = shared_video("lp_d11")
    ll = Receiver()
    p = subprocess.Popen([sys.executable, "-m", "bridge", "capture", "--camera", video, "--frames", "90",
                          "--livelink", f"127.0.0.1:{ll.port}", "--serve", "--control", "tcp://127.0.0.1:*",
                          "--data", "tcp://127.0.0.1:*", "--video", "tcp://127.0.0.1:*"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = p.stdout.readline()
        m = re.search(r"control (\S+)\s+data (\S+)", line)
        assert m, (line, p.stderr.read())
        got = []
        with Client(m.group(1), m.group(2), timeout_s=10) as c:
            c.hello()
            c.subscribe("performer")
            t_end = time.monotonic() + 20
            while time.monotonic() < t_end and p.poll() is None:
                for f in c.frames(timeout_s=1.0, until_final=False):
                    got.append(f)
                    break
        assert p.wait(30) == 0, p.stderr.read()
        ll.wait_quiet(0.3, timeout=5)
        assert got and {f.mode for f in got} == {"performing"} and got[0].landmarks is not None
        packets = [parse_llf(d) for _, d in ll.packets]
        assert len(packets) == 90 and {q["subject"] for q in packets} == {"performer"}
        times = np.array([t for t, _ in ll.packets])
        assert 20 <= (len(times) - 1) / (times[-1] - times[0]) <= 30  # the file plays as a 25 fps camera
    finally:
        ll.close()
        stop(p)


def test_capture_video_without_a_face(tmp_path):
    import av

    path = str(tmp_path / "wall.mp4")
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(20):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), np.uint8), format="rgb24")
            for pkt in s.encode(frame):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    r = run_cli("capture", "--camera", path, "--out", str(tmp_path / "o"), timeout=120)
    assert r.returncode == 1 and "no face found in any frame" in r.stderr, r.stderr
    assert not (tmp_path / "o" / "animation.json").exists()


@pytest.mark.parametrize("args, problem", [
    (["--camera", "7", "--livelink", "127.0.0.1:9"], "--camera 7: no such camera"),
    (["--camera", "/no/such.mp4", "--out", "o"], "--camera /no/such.mp4: no such file or camera"),
    (["--camera", "0"], "capture: has nowhere to send frames"),
    (["--camera", "0", "--vmc", "1.2.3.4"], "--vmc 1.2.3.4: is not [AVATAR=]HOST:PORT"),
])
def test_capture_bad_input_in_one_line(args, problem):
    r = run_cli("capture", *args, timeout=60)
    assert r.returncode == 1 and problem in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_play_audio_without_a_sound_output_is_one_line(tmp_path):
    write_animation(tmp_path / "animation.json", n=10)
    r = run_cli("play", str(tmp_path / "animation.json"), "--livelink", "127.0.0.1:9", "--audio", HELLO_WAV, timeout=60)
    if r.returncode == 0:
        pytest.skip("this machine has a sound output: --audio played")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert re.search(r"--audio .*: cannot (play sound here|open a sound output)", r.stderr), r.stderr
    r = run_cli("play", str(tmp_path / "animation.json"), "--livelink", "127.0.0.1:9", "--audio", "/no/such.wav",
                timeout=60)
    assert r.returncode == 1 and "/no/such.wav" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_performance_solver_recovers_head_pose_and_jaw(avatar):
    """Landmarks drawn by the rig with known weights and head poses solve back to them (the
    head angles capture sends to Live Link and VMC)."""
    from bridge.motion.performance import PerformanceSolver
    from bridge.motion.pose import apply_pose

    rng = np.random.default_rng(3)
    w = np.zeros((40, 52))
    w[:, J] = rng.uniform(0, 0.6, 40)
    pose = np.zeros((40, 6))
    pose[:, :3] = rng.uniform(-20, 20, (40, 3))
    points = avatar.frame.to_image(apply_pose(avatar.rig.apply(w), pose))
    solver = PerformanceSolver(avatar.frame.to_aligned(avatar.points), avatar.frame)
    solved = [solver.solve(p) for p in points]
    assert np.abs(np.array([s.head_pose[:3] for s in solved]) - pose[:, :3]).max() < 0.01
    assert np.corrcoef([s.weights[J] for s in solved], w[:, J])[0, 1] > 0.99


def test_capture_holds_then_eases_to_rest_when_the_face_is_lost(tmp_path):
    import av

    video = shared_video("lp_d11")
    path = str(tmp_path / "lost.mp4")
    with av.open(video) as src, av.open(path, "w") as dst:
        s = dst.add_stream("libx264", rate=25)
        s.pix_fmt = "yuv420p"
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(50), src.decode(video=0))]
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        frames += [np.full_like(frames[0], 40)] * 40  # the face leaves: 1.6 s of an empty picture
        for img in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                dst.mux(pkt)
        for pkt in s.encode():
            dst.mux(pkt)
    r = run_cli("capture", "--camera", path, "--out", str(tmp_path / "o"), timeout=120)
    assert r.returncode == 0 and "face lost on 40" in r.stderr, r.stderr
    a = json.load(open(tmp_path / "o" / "animation.json"))
    w, pose = np.array(a["blendshapes"]), np.array(a["head_pose"])
    assert np.abs(w[49]).sum() > 0.1  # the last tracked face was not at rest
    assert np.allclose(w[50:55], w[49], atol=1e-4)  # held (0.25 s = 6 frames)...
    assert np.abs(w[-10:]).max() < 1e-6 and np.abs(pose[-10:]).max() < 1e-6  # ...then at rest
    step = np.abs(np.diff(w[55:75], axis=0)).sum(1)
    assert step.max() < 0.25 * np.abs(w[49]).sum()  # eased over 0.5 s, not snapped
