"""User-facing errors: the CLI prints these as one line, never as a traceback."""


class BenchError(Exception):
    """A user-facing error printed as one line."""


class AdapterUnavailable(BenchError):
    """An adapter cannot run here; the message says why and how to fix it."""
