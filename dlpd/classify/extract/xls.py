"""Excel 97-2003 (BIFF) worksheets as rows of cells, through xlrd.

The UTF-16 runs of ole.py miss what matters most in a legacy sheet: ASCII strings are
stored 8-bit and apart from their row, numbers are binary doubles. A header "個人番号" in
UTF-16 and "123456789018" in 8-bit never met in one buffer, so no My Number was found.
Rows put them back on one line: "山田太郎<TAB>個人番号<TAB>123456789018".
"""

from __future__ import annotations

from collections.abc import Callable

from dlpd.errors import LimitExceeded

_TEXT, _NUMBER, _DATE, _BOOL = 1, 2, 3, 4  # xlrd cell types


class _Discard:
    """xlrd writes its warnings to a file object (stdout by default)."""

    def write(self, _text: str) -> int:
        return 0


def _cell(ctype: int, value: object) -> str:
    if ctype == _NUMBER and isinstance(value, float):
        # 123456789018.0 is how a My Number typed as a number is stored.
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if ctype in (_TEXT, _DATE, _BOOL):
        return str(value)
    return ""


def workbook_lines(data: bytes, max_chars: int, check_time: Callable[[], None]) -> list[str]:
    """Sheet names and tab-separated rows; ``ValueError`` when xlrd cannot read ``data``."""
    import xlrd  # noqa: PLC0415 - only workbooks pay for it

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=_Discard(),
                                  formatting_info=False)
    except LimitExceeded:
        raise
    except Exception as exc:  # xlrd raises many kinds on broken files
        raise ValueError(type(exc).__name__) from None
    lines: list[str] = []
    left = max_chars
    try:
        for index in range(book.nsheets):
            check_time()
            sheet = book.sheet_by_index(index)
            lines.append(sheet.name)
            for row in range(sheet.nrows):
                cells = [_cell(c.ctype, c.value) for c in sheet.row(row)]
                line = "\t".join(cells).rstrip("\t")
                if line:
                    lines.append(line)
                    left -= len(line) + 1
                    if left < 0:
                        return lines
            book.unload_sheet(index)
    except LimitExceeded:
        raise
    except Exception as exc:
        raise ValueError(type(exc).__name__) from None
    finally:
        book.release_resources()
    return lines
