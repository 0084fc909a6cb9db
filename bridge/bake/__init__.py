"""`facebridge bake`: a manifest of voice lines -> engine-ready animation assets, one folder
per line, incrementally (content hashes), resumably, on local worker processes or Ray.

    manifest.py  the lines (CSV or JSON Lines) and their per-row errors
    project.py   facebridge.toml: characters (face image, fps, seed, emotion model), formats
    line.py      one line: its content key, and baking it into its folder atomically
    batch.py     the batch: what to skip, the worker pool, progress, report.json
    ray_run.py   the same lines as Ray tasks on actors (facebridge[ray])
"""
