"""The `facebridge` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from bridge import __version__
from bridge.errors import FacebridgeError, InputError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facebridge", description="Face animation bridge for game engines.")
    p.add_argument("--version", action="version", version=f"facebridge {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("animate", help="face image + speech -> animation.json (+ preview.mp4)",
                       description="Animate a face image speaking an audio clip. Writes DIR/animation.json "
                                   "(ARKit-52 blendshapes, head pose, 478 landmarks per frame) and, unless "
                                   "--render none, DIR/preview.mp4 with the audio.")
    a.add_argument("--image", required=True, help="face image (JPEG, PNG, …)")
    a.add_argument("--audio", required=True, help="speech (WAV, FLAC, OGG; any rate, any channels)")
    g = a.add_mutually_exclusive_group()
    g.add_argument("--text", help="transcript of the audio (aligns phonemes exactly); may hold emotion "
                                  "tags: \"[sad] I lost it. [joy] Oh, here it is!\"")
    g.add_argument("--text-file", help="file holding the transcript (UTF-8)")
    a.add_argument("--emotion", metavar="LABEL[:INTENSITY]",
                   help="show this emotion for the whole clip, e.g. joy:0.8 (overrides the text model "
                        "and [tags]); labels: anger disgust fear joy neutral sadness surprise")
    a.add_argument("--emotion-model", metavar="DIR",
                   help="read emotion with a local Hugging Face text-classification folder (needs torch)")
    a.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    a.add_argument("--render", choices=["warp", "gan", "none"], default="warp",
                   help="preview renderer: warp (default; moves the photo's pixels), gan (the trained "
                        "generator: draws teeth, mouth interior, folds; slower) or none (motion only, fastest)")
    a.add_argument("--mode", choices=["speaking", "listening"], default="speaking",
                   help="speaking (default): the face says the audio; listening: the audio is the user's voice "
                        "and the face reacts to it (nods, brow raises, mirrored emotion; no lip-sync)")
    a.add_argument("--seed", type=int, default=0, help="seed for idle motion (blinks, gaze, head) and reactions")
    a.add_argument("--out", required=True, help="output directory")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    a.add_argument("-v", "--verbose", action="store_true", help="log details")

    cv = sub.add_parser("converse", help="a dialogue: the face listens to the user's turns and speaks its own",
                        description="Animate a conversation from a script: a JSON list of turns "
                                    '[{"who": "user"|"avatar", "audio": PATH, "text": "…"}] (paths relative to the '
                                    "script, text optional). The face listens and reacts during user turns, takes "
                                    "a breath and speaks its own, and listens again. Writes DIR/animation.json "
                                    '(mode "conversation", with its turns) and DIR/preview.mp4 with both voices.')
    cv.add_argument("--script", required=True, help="dialogue.json")
    cv.add_argument("--image", required=True, help="face image (JPEG, PNG, …)")
    cv.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    cv.add_argument("--render", choices=["warp", "gan", "none"], default="warp", help="preview renderer (as animate)")
    cv.add_argument("--seed", type=int, default=0, help="seed for reactions and idle motion")
    cv.add_argument("--out", required=True, help="output directory")
    cv.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    cv.add_argument("-v", "--verbose", action="store_true", help="log details")

    r = sub.add_parser("reenact", help="driving video + portrait -> the portrait performing the video's face motion",
                       description="Performance capture: track the face in --video, solve its blendshapes and "
                                   "head pose, and drive the face in --image with them. Writes an MP4 with the "
                                   "driving clip's audio.")
    r.add_argument("--video", required=True, help="driving video with a face (MP4, MOV, WebM…)")
    r.add_argument("--image", required=True, help="source portrait to animate")
    r.add_argument("--out", required=True, help="output video file (.mp4)")
    r.add_argument("--render", choices=["gan", "warp"], default="gan",
                   help="gan (default: the trained generator) or warp (moves the portrait's pixels only)")
    r.add_argument("--head", choices=["rotate", "full", "still"], default="rotate",
                   help="rotate (default): the head turns and tilts but stays in place; full: it also "
                        "moves and scales as in the video (may tear a still portrait's background); "
                        "still: expression only")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")

    e = sub.add_parser("emotion", help="text -> emotion label and scores (7 Ekman labels)",
                       description="Read the emotion of each line of text: anger, disgust, fear, joy, "
                                   "neutral, sadness, surprise. One line of output per input line.")
    e.add_argument("text", nargs="?", help="the text (or use --file)")
    e.add_argument("--file", help="UTF-8 file: one input per line (blank lines kept, as neutral)")
    e.add_argument("--emotion-model", metavar="DIR",
                   help="a local Hugging Face text-classification folder instead of the shipped model")
    e.add_argument("--json", action="store_true",
                   help='one JSON object per line: {"text", "label", "scores": {7 labels}}')

    v = sub.add_parser("serve", help="the daemon: stream face motion to engines over ZeroMQ (docs/protocol.md)",
                       description="Serve avatars to engine clients. Binds to loopback unless told otherwise.")
    v.add_argument("--control", default="tcp://127.0.0.1:5555", help="ROUTER endpoint for requests")
    v.add_argument("--data", default="tcp://127.0.0.1:5556", help="PUB endpoint for motion frames")
    v.add_argument("--video", default="tcp://127.0.0.1:5557",
                   help="PUB endpoint for rendered frames (avatars created with render)")
    v.add_argument("--fps", type=float, default=30.0, help="motion frames per second (default 30)")
    v.add_argument("--lookahead", type=float, default=0.1, help="publish frames this many seconds early")
    v.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    v.add_argument("--curve-keys", metavar="DIR",
                   help="encrypt and authenticate with CURVE: keys from `facebridge keys --out DIR`")
    _output_options(v)

    pl = sub.add_parser("play", help="replay an animation.json in real time to Live Link Face, VMC, the daemon",
                        description="Replay an animation.json (from animate or capture) in real time to the "
                                    "no-plugin outputs and, with --serve, to engine clients and the browser monitor.")
    pl.add_argument("animation", help="DIR/animation.json")
    pl.add_argument("--audio", help="also play this sound (it starts with the first frame); needs sounddevice")
    pl.add_argument("--name", default="player", help="avatar id / Live Link subject (default: player)")
    _output_options(pl)
    _embedded_daemon_options(pl)

    c = sub.add_parser("capture", help="webcam or video -> ARKit-52 + head pose, live to the outputs",
                       description="Performance capture: track the face from a camera (or a video file played as "
                                   "one), solve the 52 ARKit blendshapes and head pose on the rig, and send them "
                                   "live. Hold a relaxed face for the first second (calibration).")
    c.add_argument("--camera", required=True, help="camera index (0 = the first) or a video file")
    c.add_argument("--out", help="also record DIR/animation.json")
    c.add_argument("--name", default="performer", help="avatar id / Live Link subject (default: performer)")
    c.add_argument("--frames", type=int, help="stop after this many frames (default: until the source ends or Ctrl-C)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _output_options(c)
    _embedded_daemon_options(c)

    b = sub.add_parser("bake", help="a manifest of voice lines -> animation assets (json, csv, Unity .anim, glTF)",
                       description="Bake every line of a manifest (CSV with a header, or JSON Lines: id, audio, "
                                   "text, emotion, character; paths relative to it) into OUT/<id>/. Unchanged lines "
                                   "are skipped, a failed line goes into OUT/report.json and never stops the batch, "
                                   "a killed run resumes. Exit status 1 when a line failed. See docs/bake.md.")
    b.add_argument("manifest", help="lines.csv or lines.jsonl")
    b.add_argument("--out", required=True, help="output folder (one folder per line, report.json)")
    b.add_argument("--formats", help="comma-separated: json,csv,unity-anim,gltf (default: all, or the project's)")
    b.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)), help="local worker processes "
                   "(default: one per CPU core; each holds the models, about 350 MB)")
    b.add_argument("--ray", metavar="ADDRESS", help="run on Ray instead: auto (start a local Ray) or "
                   "ray://HEAD:10001 (a cluster; needs facebridge[ray])")
    b.add_argument("--project", metavar="TOML", help="facebridge.toml with characters and settings (default: "
                   "facebridge.toml beside the manifest, if there is one)")
    b.add_argument("--image", help="the face for rows without a character")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    k = sub.add_parser("keys", help="create CURVE keys for serve --curve-keys (server + one client)")
    k.add_argument("--out", required=True, help="new folder for the keys")

    t = sub.add_parser("train", help="retrain a shipped model (needs the train extra)")
    t.add_argument("what", choices=["emotion", "emotion-ngram", "expression", "visemes", "mouth", "generator"],
                   help="emotion: the text emotion model (fine-tunes the packaged MiniLM encoder); emotion-ngram: "
                        "the previous hashed n-gram model (the benchmark's reference); expression: the expression network; "
                        "visemes: the streamed viseme classifier (needs espeak-ng); mouth: the mouth-opening "
                        "model (needs ../shared/data); generator: the GAN renderer")
    t.add_argument("rest", nargs=argparse.REMAINDER, help="options of that training script (--help)")

    x = sub.add_parser("export", help="export a trained run to ONNX (needs the train extra)")
    x.add_argument("what", choices=["generator"])
    x.add_argument("run", help="the run folder of `facebridge train generator --out RUN`")
    x.add_argument("--out", default=os.path.join("models", "generator.onnx"), help="ONNX file to write")
    return p


def _output_options(p) -> None:
    p.add_argument("--livelink", action="append", metavar="[AVATAR=]HOST:PORT",
                   help="send Live Link Face packets (Unreal's Live Link, MetaHumans) here; each avatar is its "
                        "own subject; repeat for more receivers (Unreal listens on 11111)")
    p.add_argument("--vmc", action="append", metavar="[AVATAR=]HOST:PORT",
                   help="send one avatar (default: the first) over the VMC protocol (VSeeFace, Warudo, VNyan; "
                        "usually port 39539); repeat for more")
    p.add_argument("--web", metavar="HOST:PORT", help="serve the browser monitor here, e.g. 127.0.0.1:8080")


def _embedded_daemon_options(p) -> None:
    p.add_argument("--serve", action="store_true",
                   help="also run the daemon, with this avatar on it, for engine clients (implied by --web)")
    p.add_argument("--control", default="tcp://127.0.0.1:5555", help="with --serve: ROUTER endpoint")
    p.add_argument("--data", default="tcp://127.0.0.1:5556", help="with --serve: PUB endpoint for motion frames")
    p.add_argument("--video", default="tcp://127.0.0.1:5557", help="with --serve: PUB endpoint for video")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return 2
    level = logging.INFO if getattr(args, "verbose", False) else logging.WARNING
    if getattr(args, "log_level", None):
        level = getattr(logging, args.log_level.upper())
    logging.basicConfig(level=level, format="facebridge: %(asctime)s %(levelname)s %(message)s"
                        if args.command == "serve" else "facebridge: %(message)s")
    try:
        if args.command == "animate":
            return _animate(args)
        if args.command == "emotion":
            return _emotion(args)
        if args.command == "converse":
            return _converse(args)
        if args.command == "train":
            return _train(args)
        if args.command == "reenact":
            return _reenact(args)
        if args.command == "export":
            return _export(args)
        if args.command == "play":
            return _play(args)
        if args.command == "capture":
            return _capture(args)
        if args.command == "bake":
            return _bake(args)
        if args.command == "keys":
            from bridge.server.security import create_keys

            paths = create_keys(args.out)
            print(f"wrote {args.out}: give a client {paths['client_secret']} and {paths['server_public']}; "
                  f"admit more clients by adding their .key files to {args.out}/clients")
            return 0
        if args.command == "serve":
            # Many small matrix products from many threads: OpenBLAS's own threads would
            # busy-wait between them (one avatar streaming kept a whole core spinning). Set
            # before numpy loads; an explicit setting by the user wins.
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ.setdefault(var, "1")
            from bridge.outputs.targets import make_outputs
            from bridge.server import run

            if not (1 <= args.fps <= 120) or not (0 <= args.lookahead <= 2):
                raise InputError("serve", "--fps must be 1..120 and --lookahead 0..2 s", "see --help")
            taps = make_outputs(args.livelink, args.vmc, args.web, fps=args.fps)
            try:
                run(args.control, args.data, fps=args.fps, lookahead_s=args.lookahead,
                    ready=lambda line: print(line, flush=True), curve_keys=args.curve_keys, video=args.video,
                    taps=taps)
            except Exception as e:
                _bind_failed(e, taps, "serve", "pick a free port or a valid tcp://HOST:PORT")
            return 0
    except FacebridgeError as e:
        print(f"facebridge: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facebridge: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("facebridge: error: out of memory (try a shorter clip or --render none)", file=sys.stderr)
        return 1
    return 2


def _animate(args) -> int:
    from bridge.pipeline import animate, read_text
    from bridge.progress import Progress

    t0 = time.monotonic()
    text = read_text(args.text, args.text_file)
    out = args.out
    _out_dir(out)
    progress = Progress(enabled=not args.quiet)
    if args.render == "gan":  # a missing or corrupt model fails now, not after the analysis
        from bridge.render import generator_model

        generator_model()
    anim, audio = animate(args.image, args.audio, text=text, fps=args.fps, seed=args.seed,
                          progress=progress, emotion=args.emotion, emotion_model=args.emotion_model,
                          text_name=f"text file {args.text_file}" if args.text_file else "--text", mode=args.mode)
    _write_outputs(out, anim, audio, args.render, progress)
    progress.done(f"wrote {out}: {anim.n_frames} frames ({anim.duration_s:.1f} s at {anim.fps:g} fps) "
                  f"in {time.monotonic() - t0:.1f} s")
    return 0


def _bake(args) -> int:
    from bridge.bake.batch import bake, print_progress
    from bridge.bake.project import load_project, parse_formats

    formats = parse_formats(args.formats) if args.formats else None
    if args.workers < 1:
        raise InputError("--workers", f"{args.workers} is below 1", "use 1 or more")
    if args.image is not None and not os.path.isfile(args.image):
        raise InputError(f"--image {args.image}", "not found", "check the path")
    project_path = args.project
    if project_path is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(args.manifest)), "facebridge.toml")
        project_path = beside if os.path.isfile(beside) else None
    project = load_project(project_path, image=args.image)
    summary = bake(args.manifest, args.out, project, formats=formats, workers=args.workers, ray=args.ray,
                   progress=None if args.quiet else print_progress())
    print(f"bake {args.manifest} -> {args.out}\n{summary.table()}")
    for o in [o for o in summary.outcomes if o.warning][:5]:
        print(f"  warning: {o.id}: {o.warning}", file=sys.stderr)
    failed = [o for o in summary.outcomes if o.status == "failed"]
    for o in failed[:10]:
        print(f"  failed: {o.id or '?'}: {o.error}", file=sys.stderr)
    if len(failed) > 10:
        print(f"  … and {len(failed) - 10} more: see {os.path.join(args.out, 'report.json')}", file=sys.stderr)
    return 1 if failed else 0


def _out_dir(out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out}", "exists and is not a directory", "pass a directory path")


def _write_outputs(out: str, anim, audio, render: str, progress) -> None:
    """DIR/animation.json, and DIR/preview.mp4 with the audio unless render is none."""
    from bridge.outputs.animation_file import write_animation

    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise InputError(f"--out {out}", f"cannot create the directory ({e.strerror})",
                         "pass a writable path") from None
    progress.stage("writing animation.json")
    write_animation(os.path.join(out, "animation.json"), anim, progress=progress.update)
    if render != "none":
        from bridge.outputs.video import write_video
        from bridge.render import make_renderer

        progress.stage(f"rendering preview.mp4 ({render})")
        renderer = make_renderer(render, anim.avatar.image, anim.avatar.points)
        n = anim.n_frames

        def frames():
            for f0 in range(0, n, 64):
                for lm in anim.landmarks(f0, min(n, f0 + 64)):
                    yield renderer.render(lm)

        write_video(os.path.join(out, "preview.mp4"), frames(), n, anim.fps, anim.image_size,
                    audio=audio.samples, progress=progress.update)


def _converse(args) -> int:
    from bridge.converse import converse
    from bridge.progress import Progress

    t0 = time.monotonic()
    _out_dir(args.out)
    progress = Progress(enabled=not args.quiet)
    if args.render == "gan":
        from bridge.render import generator_model

        generator_model()
    anim, audio = converse(args.script, args.image, fps=args.fps, seed=args.seed, progress=progress)
    _write_outputs(args.out, anim, audio, args.render, progress)
    progress.done(f"wrote {args.out}: {len(anim.turns)} turns, {anim.n_frames} frames ({anim.duration_s:.1f} s "
                  f"at {anim.fps:g} fps) in {time.monotonic() - t0:.1f} s")
    return 0


def _reenact(args) -> int:
    from bridge.progress import Progress
    from bridge.reenact import reenact

    if not args.out.lower().endswith((".mp4", ".mov", ".m4v")):
        raise InputError(f"--out {args.out}", "must be a video file name", "end it in .mp4")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise InputError(f"--out {args.out}", f"its folder {parent} does not exist", "create it first")
    t0 = time.monotonic()
    progress = Progress(enabled=not args.quiet)
    info = reenact(args.video, args.image, args.out, render=args.render, head=args.head, progress=progress)
    lost = f", face lost on {info['lost']} (held, then eased to rest)" if info["lost"] else ""
    progress.done(f"wrote {args.out}: {info['frames']} frames at {info['fps']:g} fps{lost} "
                  f"in {time.monotonic() - t0:.1f} s")
    return 0


def _frame_sink(args, name: str, image_size, mode: str, fps: float):
    """Where play and capture send their frames: the outputs directly, or (--serve, --web) an
    embedded daemon's live avatar, which feeds its subscribers and the same outputs.
    -> (sink(Frame), close())."""
    from bridge.outputs.targets import make_outputs

    taps = make_outputs(args.livelink, args.vmc, args.web, fps=fps)
    if not (args.serve or args.web):
        def sink(frame):
            for t in taps:
                t.frame(frame)

        def close():
            for t in taps:
                t.close()
        return sink, close
    from bridge.server.daemon import Daemon

    try:
        d = Daemon(args.control, args.data, fps=fps, video=args.video, taps=taps)
    except Exception as e:
        _bind_failed(e, taps, "--serve", "pick free ports with --control/--data/--video")
    live = d.add_live(name, image_size, mode)
    d.start()
    print(d.ready_line() + f"  avatar {name}", flush=True)
    return live.push, d.stop


def _bind_failed(e: Exception, taps, what: str, hint: str):
    """The daemon could not start: close the outputs; a ZMQError (address in use, bad
    endpoint) is the user's to fix, anything else a bug."""
    for t in taps:
        t.close()
    if type(e).__name__ != "ZMQError":
        raise e
    raise InputError(what, f"cannot bind ({e})", hint) from None


def _play(args) -> int:
    from bridge.outputs.targets import check_targets
    from bridge.play import load_playable, open_audio, play

    check_targets(args.livelink, args.vmc, args.web)
    p = load_playable(args.animation)
    player = open_audio(args.audio) if args.audio else None
    sink, close = _frame_sink(args, args.name, p.image_size, p.mode, p.fps)
    try:
        t0 = None
        if player is not None:
            player.start()
            t0 = player.t0
        n = play(p, sink, name=args.name, t0=t0)
    except KeyboardInterrupt:
        n = None
    finally:
        if player is not None:
            player.close()
        close()
    print(f"played {args.animation}: {n if n is not None else 'stopped after some'} of {p.n_frames} frames "
          f"at {p.fps:g} fps", file=sys.stderr)
    return 0


def _capture(args) -> int:
    from bridge.capture import Recording, open_source, run_capture
    from bridge.outputs.targets import check_targets

    check_targets(args.livelink, args.vmc, args.web)
    if args.frames is not None and args.frames < 1:
        raise InputError("--frames", f"{args.frames} is not a frame count", "pass 1 or more, or leave it out")
    if args.out and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise InputError(f"--out {args.out}", "exists and is not a directory", "pass a directory path")
    live = bool(args.livelink or args.vmc or args.serve or args.web)
    if not live and not args.out:
        raise InputError("capture", "has nowhere to send frames",
                         "add --livelink HOST:PORT, --vmc HOST:PORT, --serve, --web HOST:PORT or --out DIR")
    source = open_source(args.camera, realtime=live)
    try:
        sink, close = _frame_sink(args, args.name, source.size, "performing", source.fps)
        record = None
        try:
            def on_frame(stats, performer, _last=[0.0]):
                if args.quiet or time.monotonic() - _last[0] < 1.0:
                    return
                _last[0] = time.monotonic()
                fps = stats.frames / max(1e-6, time.monotonic() - t0)
                print(f"capture: {stats.frames} frames, {fps:.1f} frames/s"
                      + ("" if performer.calibrated else " (calibrating: hold a relaxed face)"), file=sys.stderr)

            t0 = time.monotonic()
            record = Recording(fps=source.fps, image_size=source.size) if args.out else None
            stats = run_capture(source, sink, name=args.name, record=record, max_frames=args.frames,
                                progress=on_frame)
        finally:
            close()
    finally:
        source.close()
    if record is not None:
        from bridge.outputs.animation_file import write_animation

        os.makedirs(args.out, exist_ok=True)
        write_animation(os.path.join(args.out, "animation.json"), record.finish())
    skipped = getattr(source, "skipped", 0)
    print(f"captured {stats.summary()}" + (f", {skipped} frames skipped to keep up" if skipped else "")
          + (f"; wrote {args.out}/animation.json" if args.out else ""), file=sys.stderr)
    return 0


def _emotion(args) -> int:
    import json

    from bridge.emotion import load_reader

    if (args.text is None) == (args.file is None):
        raise InputError("emotion", "needs exactly one of TEXT or --file", 'e.g. facebridge emotion "I love it!"')
    if args.file is not None:
        from bridge.textfile import read_utf8

        name = f"--file {args.file}"
        lines = read_utf8(args.file, name).splitlines()
    else:
        lines = [args.text]
        name = "TEXT"
    if not any(line.strip() for line in lines):
        raise InputError(name, "is empty", "pass some words")
    preds = load_reader(args.emotion_model).predict_lines(lines)
    for p in preds:
        if args.json:
            print(json.dumps({"text": p.text, "label": p.label, "scores": p.scores}, ensure_ascii=False))
        else:
            top = sorted(p.scores.items(), key=lambda kv: -kv[1])[:3]
            print(f"{p.label}\t" + " ".join(f"{k}:{v:.2f}" for k, v in top) + (f"\t{p.text}" if args.file else ""))
    return 0


def _train(args) -> int:
    try:
        if args.what == "emotion":
            from bridge.train.emotion_encoder import main as train_main
        elif args.what == "emotion-ngram":
            from bridge.train.emotion_text import main as train_main
        elif args.what == "expression":
            from bridge.train.expression import main as train_main
        elif args.what == "visemes":
            from bridge.train.visemes import main as train_main
        elif args.what == "mouth":
            from bridge.train.mouth import main as train_main
        else:
            from bridge.train.generator import main as train_main
    except ImportError as e:
        raise FacebridgeError("train", f"needs the training extra ({e.name} is missing)",
                              "pip install torch==2.13.0 && pip install -e '.[train]'") from None
    train_main(args.rest)
    return 0


def _export(args) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise FacebridgeError("export", "needs the training extra (torch is missing)",
                              "pip install torch==2.13.0 && pip install -e '.[train]'") from None
    from bridge.train.generator import export

    export(args.run, args.out)
    return 0
