"""User-facing errors: one line naming the input and what to do about it."""


class FacebridgeError(Exception):
    """An error a user can cause and fix. The CLI prints it as one line, no traceback."""

    def __init__(self, what: str, problem: str, hint: str = ""):
        self.what = what
        self.problem = problem
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        line = f"{self.what}: {self.problem}"
        if self.hint:
            line += f" ({self.hint})"
        return line


class InputError(FacebridgeError):
    """A bad input file or argument."""


class AlignmentError(InputError):
    """The transcript could not be aligned to the audio (wrong text, or the aligner failed)."""


class NoFaceError(InputError):
    """The image holds no detectable face."""
