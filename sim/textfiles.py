"""Users' data files read as text or JSON: every way a file can fail to be UTF-8 text or
valid JSON (bad bytes, a truncated or too deeply nested document, a number too long to
convert) is an :class:`~sim.errors.InputError` naming the file and line, never a
traceback. The readers of traces, perf tables and benchmark logs use these two."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zlib
from pathlib import Path

from sim.errors import InputError

BOM = b"\xef\xbb\xbf"  # the UTF-8 byte-order mark spreadsheet programs put before a CSV
GZIP = b"\x1f\x8b"  # the two bytes every gzip file starts with (RFC 1952)
# the most a gzip file may hold decompressed: an assumption, well above any trace the project
# reads (the Azure 2024 week-long traces are under 1 GiB) and below a laptop's memory
MAX_TEXT_BYTES = 4 * 2**30


def is_file(path: str | Path) -> bool:
    """Whether ``path`` names a regular file; a name the system refuses (longer than 255
    bytes, a NUL byte, too many links) is no file rather than an OSError."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def require_file(path: str | Path, what: str = "file", key: str | None = None) -> None:
    """An InputError naming ``path`` (and the config ``key`` that gave it) unless it is a
    regular file (:func:`is_file`)."""
    if not is_file(path):
        try:
            os.stat(path)
        except PermissionError:  # a folder on its path the user may not enter: not "not found"
            raise InputError(f"cannot read {what}: a folder on its path may not be entered "
                             "(Permission denied)", key=key, path=str(path)) from None
        except (OSError, ValueError):
            pass
        raise InputError(f"{what} not found (or not a regular file)", key=key, path=str(path))


def read_bytes(path: str | Path, what: str = "file") -> tuple[bytes, int]:
    """The bytes of ``path`` (decompressed when it is a gzip file, whatever its name) without
    a leading UTF-8 byte-order mark (pandas' CSV reader drops it too, so every reader sees
    the same header), and how many bytes that mark took (0 or 3)."""
    p = Path(path)
    require_file(p, what)
    try:
        raw = p.read_bytes()
    except OSError as e:  # a regular file the system will not read (/proc/self/mem: EIO)
        raise InputError(f"cannot read {what}: {e.strerror or type(e).__name__}", path=str(p)) from None
    if raw[:2] == GZIP:
        raw = _gunzip(raw, p)
        if raw[:2] == GZIP:  # compressed twice: read through once, it was still binary
            raise InputError("a gzip file inside a gzip file: decompress it once (gunzip) and "
                             "give the inner file", path=str(p))
    kind = binary_kind(raw)
    if kind is not None:  # said as such, where the first bad byte, or a header of NULs, told nothing
        raise InputError(kind, path=str(p), line=1)
    skip = len(BOM) if raw.startswith(BOM) else 0
    return (raw[skip:] if skip else raw), skip


# the first bytes of the compressed formats a user may hand over instead of text (each
# format's own specification); only gzip is read through
_PACKED = ((b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"),
           (b"PK\x03\x04", "zip"), (b"7z\xbc\xaf\x27\x1c", "7-Zip"))
UTF32 = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")  # UTF-32's byte-order marks (LE, BE)


def binary_kind(raw: bytes) -> str | None:
    """What ``raw`` is when it is plainly not UTF-8 text but a known kind of file (another
    compression than gzip, UTF-32, UTF-16 without its byte-order mark), said so the user can
    convert it; None otherwise (UTF-8 text, or bytes left to the UTF-8 check to name)."""
    for magic, name in _PACKED:
        if raw.startswith(magic) and (name != "bzip2" or raw[4:10] == b"1AY&SY"):
            return (f"compressed with {name}, which is not read (gzip is): decompress it, or "
                    "compress it with gzip")
    if raw.startswith(UTF32):  # checked before UTF-16, whose little-endian mark it starts with
        return "UTF-32 text (its byte-order mark), not UTF-8: save it as UTF-8"
    head = raw[:64]
    if len(head) >= 4 and not raw.startswith(UTF16):  # text never holds NUL: every other byte one
        odd, even = head[1::2], head[0::2]
        if odd.count(0) == len(odd) and 0 not in even or even.count(0) == len(even) and 0 not in odd:
            return ("UTF-16 text without a byte-order mark (every other byte is NUL), not "
                    "UTF-8: save it as UTF-8")
    return None


def _gunzip(raw: bytes, p: Path) -> bytes:
    """``raw`` (one gzip member or several, one after the other) decompressed, refused past
    :data:`MAX_TEXT_BYTES` before they are all made (a small file can hold gigabytes)."""
    parts, size = [], 0
    while raw:
        d = zlib.decompressobj(wbits=31)  # a gzip header and trailer around deflate data
        try:
            part = d.decompress(raw, MAX_TEXT_BYTES + 1 - size)
        except zlib.error as e:
            if parts:  # a whole gzip member, then other bytes (a file appended to a .gz)
                raise InputError(f"{len(raw):,} bytes after the gzip data are not gzip (a file "
                                 "appended to it?): remove them (gzip -d drops them with a "
                                 "warning)", path=str(p)) from None
            raise InputError(f"a damaged gzip file ({e})", path=str(p)) from None
        size += len(part)
        if size > MAX_TEXT_BYTES or d.unconsumed_tail:
            raise InputError(f"more than {MAX_TEXT_BYTES / 2**30:g} GiB once decompressed "
                             "(MAX_TEXT_BYTES in sim/textfiles.py)", path=str(p))
        if not d.eof:
            raise InputError("a damaged gzip file (cut short)", path=str(p))
        parts.append(part)
        raw = d.unused_data.lstrip(b"\0")  # gzip lets a file end in zero padding
    return b"".join(parts)


def read_head(path: str | Path, n: int = 65536) -> bytes:
    """At most the first ``n`` bytes of ``path``'s text (gzip read through, a byte-order mark
    left out), to tell a format by its header; b"" for a file that cannot be read."""
    try:
        with open(path, "rb") as f:
            raw = f.read(n)
        if raw[:2] == GZIP:
            raw = zlib.decompressobj(wbits=31).decompress(raw, n)
    except (OSError, ValueError, zlib.error):
        return b""
    return raw[len(BOM):] if raw.startswith(BOM) else raw


UTF16 = (b"\xff\xfe", b"\xfe\xff")  # the byte-order marks of UTF-16 (little, big endian)


def not_utf8(raw: bytes, at: int, reason: str, path: str | Path, skip: int = 0) -> InputError:
    """The error for ``raw`` not being UTF-8 text from byte ``at``, naming its line; a file
    opening with a UTF-16 byte-order mark (as Windows tools save "Unicode" text) is said to
    be UTF-16, where the first bad byte alone told nothing."""
    if raw.startswith(UTF16):
        return InputError("UTF-16 text (its byte-order mark), not UTF-8: save it as UTF-8",
                          path=str(path), line=1)
    return InputError(f"not UTF-8 text (byte {skip + at}: {reason})", path=str(path),
                      line=raw[:at].count(b"\n") + 1)


def check_utf8(raw: bytes, path: str | Path, skip: int = 0) -> None:
    """An InputError naming the line of the first byte of ``raw`` that is not UTF-8 text
    (``skip``: bytes a byte-order mark took before it), checked 16 MB at a time so that a
    large file is not held twice as text."""
    step, i = 1 << 24, 0
    while i < len(raw):
        j = min(i + step, len(raw))
        while j < len(raw) and j > i and (raw[j] & 0xC0) == 0x80:  # not inside a character
            j -= 1
        try:
            raw[i:j].decode("utf-8")
        except UnicodeDecodeError as e:
            raise not_utf8(raw, i + e.start, e.reason, path, skip) from None
        i = j


def read_text(path: str | Path, what: str = "file") -> str:
    """The whole of ``path`` as UTF-8 text (:func:`read_bytes`: gzip read through, a leading
    byte-order mark not part of the text)."""
    raw, skip = read_bytes(path, what)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(raw, e.start, e.reason, path, skip) from None


def text_lines(text: str) -> list[str]:
    """The lines of ``text``, ended by LF, CRLF or CR only: ``str.splitlines`` also breaks at
    U+2028, U+0085 and other characters a JSON string may hold as they are."""
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def unique_header(names, path: str | Path, line: int = 1) -> None:
    """An InputError (``path:line``, the header's line) for a column the header ``names``
    gives twice: readers keep one of the two (the first, the last, or a renamed copy)
    without saying so."""
    seen: dict[str, int] = {}
    for i, n in enumerate(names, start=1):
        n = str(n).strip()
        if n in seen:
            raise InputError(f"column {n!r} given twice in the header (columns {seen[n]} and {i})",
                             path=str(path), line=line)
        seen[n] = i


_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class Header(list):
    """A CSV header's names, and ``line``: the file line it is on (blank lines before it
    are skipped, so not always 1)."""

    line: int = 1


def csv_data_rows(text, path: str | Path):
    """The header (names stripped, a :class:`Header`), then each data row with its line in the file, of the CSV
    ``text`` (a string, or its lines with their ends as a text stream gives them), one at a time (:func:`csv_rows` keeps them all). Blank lines are skipped (their
    lines still counted). A row with more or fewer fields than the header is refused, naming
    its line: pandas takes a first extra column for the index when every row has one (the
    columns then read one to the right), and ``csv.DictReader`` sets an extra field apart,
    unread."""
    header: list[str] | None = None
    # a field may be as long as a file may be (a log's prompt text, an unread column): the
    # csv module's own limit, 131,072 characters, refused such a legal file; restored after
    limit = csv.field_size_limit(MAX_TEXT_BYTES)
    # the lines one at a time (as ``io.StringIO(text, newline="")`` splits them, without
    # its copy of the text at 4 bytes a character)
    lines = (m.group() for m in _CSV_LINE.finditer(text)) if isinstance(text, str) else text
    reader = csv.reader(lines)
    try:
        for r in reader:
            if not r or all(not c.strip() for c in r):
                continue
            if header is None:
                header = Header(c.strip() for c in r)
                header.line = reader.line_num
                yield header
                continue
            if len(r) != len(header):
                raise InputError(f"{len(r)} fields, the header names {len(header)}",
                                 path=str(path), line=reader.line_num)
            yield reader.line_num, r
    except csv.Error as e:
        raise InputError(f"not a CSV row ({e})", path=str(path), line=reader.line_num) from None
    finally:
        csv.field_size_limit(limit)
    if header is None:
        raise InputError("empty file: no header", path=str(path), line=1)


def csv_rows(text: str, path: str | Path) -> tuple[Header, list[int], list[list[str]]]:
    """The header, and each data row with its line in the file, of the CSV ``text``
    (:func:`csv_data_rows`, all at once)."""
    it = csv_data_rows(text, path)
    header = next(it)
    lines, rows = [], []
    for line, r in it:
        lines.append(line)
        rows.append(r)
    return header, lines, rows


def csv_row_line(path: str | Path, row: int) -> int | None:
    """The file line of data row ``row`` (0: the first after the header) of the CSV at
    ``path``, counted as :func:`csv_rows` counts them (blank rows skipped), read only as far
    as that row and keeping none before it; None when the file has no such row or a row the
    CSV reader refuses (:func:`csv_rows` then names it). :func:`csv_rows` holds every row as
    a list: naming a duplicate time in a 27 M-row file of the 2024 Azure form that way went
    past 14 GB of memory and minutes."""
    raw, _ = read_bytes(path)
    it = csv_data_rows(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""), path)
    try:
        next(it)  # the header
        for n, (line, _) in enumerate(it):
            if n == row:
                return line
    except (InputError, UnicodeDecodeError):
        pass
    return None


class _KeyTwice(ValueError):
    pass


def _no_key_twice(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _KeyTwice(k)
        out[k] = v
    return out


def parse_json(text: str, path: str | Path, line: int):
    """``text`` (which starts on line ``line`` of ``path``) parsed as JSON; an object naming a
    key twice is refused (JSON readers keep the last silently)."""
    try:
        return json.loads(text, object_pairs_hook=_no_key_twice)
    except _KeyTwice as e:
        raise InputError(f"key {e.args[0]!r} given twice in one object", path=str(path),
                         line=line) from None
    except json.JSONDecodeError as e:
        raise InputError(f"not valid JSON: {e.msg} (column {e.colno})", path=str(path),
                         line=line + e.lineno - 1) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", path=str(path), line=line) from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise InputError(f"not valid JSON: {str(e).split(';')[0]}", path=str(path),
                         line=line) from None
