"""Images stored as bytes in a column of ``manifest.parquet`` (the ``datasets`` Image struct or raw binary)."""
from __future__ import annotations

import bisect
import threading
from pathlib import Path

from ..errors import BenchError


class EmbeddedImages:
    """Lazy access to image bytes in a Parquet column (the ``datasets`` Image struct or raw binary):
    one row group is read at a time and the last few are kept, so memory stays at a few row groups."""

    KEEP = 4

    def __init__(self, path: Path, column: str, paths: list[str]) -> None:
        import pyarrow.parquet as pq

        self.path, self.column = path, column
        self.row_of = {p: i for i, p in enumerate(paths)}
        if len(self.row_of) != len(paths):
            raise BenchError(f"{path}: paths must be unique when images are embedded")
        md = pq.ParquetFile(path).metadata
        self._starts = [0]
        for g in range(md.num_row_groups):
            self._starts.append(self._starts[-1] + md.row_group(g).num_rows)
        self._groups: dict[int, object] = {}
        self._lock = threading.Lock()
        self._file = None

    def __getstate__(self) -> dict:
        """Picklable for worker processes (`bench run --workers`): each reopens the file itself."""
        state = dict(self.__dict__)
        state.update(_groups={}, _lock=None, _file=None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def bytes_of(self, rel: str) -> bytes | None:
        """The image bytes of the row whose path is ``rel`` (None when the cell holds none)."""
        row = self.row_of[rel]
        g = bisect.bisect_right(self._starts, row) - 1
        with self._lock:
            col = self._groups.pop(g, None)
            if col is None:
                import pyarrow.parquet as pq

                if self._file is None:
                    self._file = pq.ParquetFile(self.path)
                col = self._file.read_row_group(g, columns=[self.column]).column(0).combine_chunks()
            self._groups[g] = col  # most recently used last
            while len(self._groups) > self.KEEP:
                self._groups.pop(next(iter(self._groups)))
        cell = col[row - self._starts[g]]
        value = cell.as_py()
        if isinstance(value, dict):
            value = value.get("bytes")
        return value
