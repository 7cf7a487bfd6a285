"""User-facing errors: the CLI prints these as one line, never as a traceback."""


class BenchError(Exception):
    """A user-facing error printed as one line."""


class ResultsNotWritable(BenchError):
    """The results folder refused a write (full, read-only, gone): the run stops with one line."""


class AdapterUnavailable(BenchError):
    """An adapter cannot run here; the message says why and how to fix it."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by the CLI's handler so a run ends like Ctrl-C (its end time recorded)."""

    status = "terminated"
