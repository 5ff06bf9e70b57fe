"""Parquet, Arrow IPC files (Feather v2) and Feather v1 through pyarrow: the only importer
of ``pyarrow``, an optional extra (``pip install 'dlpd[columnar]'``).

A file is one table: one text part named ``table`` (``data.parquet!table``), a row a line,
``column=value; ...`` (``rows.py``). Compressed column data (snappy, zstd) hides values
from raw matching: only this view shows them.

Bounded: batches of ``_BATCH`` rows, at most ``max_table_rows`` rows a file (noted when
cut), strings and binaries cut to ``max_cell_bytes`` in Arrow before they become Python
objects. Parquet is read page by page (``buffer_size``), never as a whole table; the
row groups read must declare sizes within ``max_total_uncompressed``. An Arrow IPC batch
is read whole (the format has no smaller unit): its size is at most the file's unless
it is compressed. pyarrow raises many exception types on malformed input: they are
translated here, naming the type only (messages may quote the file).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from dlpd.classify.extract.base import Member
from dlpd.classify.extract.reading import hand_over
from dlpd.classify.extract.rows import TableLines, column_label
from dlpd.classify.limits import Budget, MiB
from dlpd.errors import DlpdError, ExtractionError, LimitExceeded, NotSupported

TABLE_NAME = "table"
_BATCH = 1024
_READ_BUFFER = 1 * MiB
_MISSING = "not read: pyarrow is not installed (pip install 'dlpd[columnar]')"


def extract_columnar(stream: BinaryIO, budget: Budget) -> Iterator[Member]:
    stream.seek(0)
    head = stream.read(8)
    stream.seek(0)
    kind = "parquet" if head.startswith(b"PAR1") else "feather" if head.startswith(
        b"FEA1") else "arrow"
    try:
        import pyarrow  # noqa: PLC0415, F401  (the extra may be absent)
    except ImportError as exc:
        raise NotSupported(f"{kind}: {_MISSING}") from exc
    lines: TableLines | None = None
    more = False
    failure: DlpdError | None = None
    try:
        for batch in _batches(kind, stream, budget):
            if lines is None:
                lines = TableLines(budget, TABLE_NAME, [column_label(str(n))
                                                        for n in batch.schema.names])
            more = _add(lines, batch, budget)
            if more or lines.full:
                break
            budget.check_time()
    except DlpdError as exc:
        failure = exc
    except Exception as exc:  # pyarrow's errors on malformed input vary
        failure = ExtractionError(f"malformed {kind} ({type(exc).__name__})")
    if lines is not None:
        if more:
            lines.rows_cut()
        data = lines.to_bytes()
        budget.charge_bytes(len(data))
        if data:
            yield from hand_over(budget, Member(TABLE_NAME, data, is_text=True, part=True))
    if failure is not None:
        raise failure


def _add(lines: TableLines, batch: Any, budget: Budget) -> bool:
    """Add the batch's rows; True when rows are left over past ``max_table_rows``."""
    wanted = lines.max_rows - lines.rows
    rows = _cut_cells(batch.slice(0, wanted), budget.options.max_cell_bytes)
    for row in zip(*(column.to_pylist() for column in rows.columns), strict=True):
        if lines.full:
            break
        lines.add(row)
    return bool(batch.num_rows > wanted)


def _cut_cells(batch: Any, max_bytes: int) -> Any:
    """Strings and binaries cut in Arrow, before they become Python objects."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    columns = []
    for column in batch.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns.append(pc.utf8_slice_codeunits(column, 0, max_bytes))
        elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            columns.append(pc.binary_slice(column, 0, max_bytes + 1))
        else:
            columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _batches(kind: str, stream: BinaryIO, budget: Budget) -> Iterator[Any]:
    if kind == "parquet":
        yield from _parquet(stream, budget)
        return
    import pyarrow as pa  # noqa: PLC0415

    source = pa.BufferReader(stream.getvalue()) if isinstance(stream, io.BytesIO) else stream
    if kind == "feather":
        # Feather v1 has no batches of its own; it is uncompressed, so no bigger than
        # the file.
        from pyarrow import feather  # noqa: PLC0415

        table = feather.read_table(source, use_threads=False, memory_map=False)
        yield from table.to_batches(max_chunksize=_BATCH)
        return
    from pyarrow import ipc  # noqa: PLC0415

    reader = ipc.open_file(source)
    for number in range(reader.num_record_batches):
        yield reader.get_batch(number)


def _parquet(stream: BinaryIO, budget: Budget) -> Iterator[Any]:
    import pyarrow.parquet as pq  # noqa: PLC0415

    parquet = pq.ParquetFile(stream, buffer_size=_READ_BUFFER, pre_buffer=False)
    meta = parquet.metadata
    groups: list[int] = []
    rows = 0
    for number in range(meta.num_row_groups):
        if rows > budget.options.max_table_rows:
            break
        group = meta.row_group(number)
        if group.total_byte_size > budget.limits.max_total_uncompressed:
            raise LimitExceeded("max_total_uncompressed",
                                f"row group {number} declares {group.total_byte_size} bytes")
        groups.append(number)
        rows += group.num_rows
    if groups:
        yield from parquet.iter_batches(batch_size=_BATCH, row_groups=groups,
                                        use_threads=False)
