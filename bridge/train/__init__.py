"""Training scripts (need the `train` extra: pip install -e '.[train]'). Not imported by
`animate` or `serve`."""
