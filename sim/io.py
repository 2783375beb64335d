"""Writing result files: atomically, so readers never see half a file; preparing a run folder
so that a run never leaves its files beside another run's."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

from sim.errors import InputError


def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see a
    half-written file and an interrupted run leaves none behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file where its folder goes (plots)
        raise _in_the_way(path) from None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        # mkstemp makes the file 0600: give it the mode a plain open() would (0666 less the
        # umask), so a sweep folder on shared storage is readable as the user's umask says
        # (until December 2026 every result file was 0600 whatever the umask)
        os.chmod(tmp, 0o666 & ~UMASK)
        try:
            os.replace(tmp, path)
        except IsADirectoryError:  # a folder where the file goes: named, not the temporary
            raise _in_the_way(path) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# a temporary file of :func:`atomic_write`: ``tempfile.mkstemp``'s 8 random characters, then
# a suffix only this project writes (until December 2026 the pattern had no suffix, and every
# run deleted the user's own dotfiles in its folder with an 8-character ending, such as
# ``.notes.abcdefgh`` or ``.env.prod_key``)
TEMPORARY_SUFFIX = ".servesim-tmp"
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(TEMPORARY_SUFFIX))


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files :func:`atomic_write` left in ``folder`` when its process was
    killed mid-write (SIGKILL: its ``finally`` never ran), as a run about to redo the folder's
    job starts (a killed job's ``.requests.parquet.<random>.servesim-tmp`` stayed through every resume
    until December 2026)."""
    for p in Path(folder).glob(".*"):
        if TEMPORARY.fullmatch(p.name) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)


def _in_the_way(path: Path) -> InputError:
    """``path`` cannot be written: a folder stands where it goes, or a file where one of its
    folders goes (until December 2026 an IsADirectoryError naming the temporary file)."""
    for p in [*reversed(path.parents), path]:
        if p != path and p.exists() and not p.is_dir():
            return InputError("is a file where the run makes a folder of that name: move it "
                              "away and run again", path=str(p))
    return InputError("is a folder where the run writes a file of that name: move it away and "
                      "run again", path=str(path))


def _umask() -> int:
    """The process's umask (read by setting it, then set back: there is no plain getter;
    read once, at import, before any thread writes files)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


ROW_GROUP = 1 << 20  # rows per Parquet row group (the files' layout: changing it changes their bytes)


def write_parquet(df: pd.DataFrame, path: Path, row_group: int = ROW_GROUP) -> None:
    """``df`` as Parquet (zstd) in row groups of ``row_group`` rows, converting one group at
    a time: the Arrow copy of a large frame never exists whole."""
    write_parquet_blocks(df.iloc[:0], (df.iloc[i:i + row_group] for i in range(0, len(df), row_group)),
                         path)


def write_parquet_blocks(empty: pd.DataFrame, blocks, path: Path) -> None:
    """Parquet (zstd) with one row group per frame of ``blocks``, each with the columns and
    dtypes of ``empty`` (no rows: it gives the schema). The blocks are made and converted one
    at a time, so a caller that builds each on demand never holds more than one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(p: Path) -> None:
        schema = pa.Schema.from_pandas(empty, preserve_index=False)
        with pq.ParquetWriter(p, schema, compression="zstd") as w:
            for block in blocks:
                w.write_table(pa.Table.from_pandas(block, schema=schema, preserve_index=False))

    atomic_write(path, write)


FLOAT_FORMAT = "%.9g"  # every CSV the project writes


def write_frame_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda p: df.to_csv(p, index=False, float_format=FLOAT_FORMAT))


CSV_BLOCK = 8192  # rows of a table built and written at a time (its bytes are the same)


def write_table_csv(rows, path: Path) -> None:
    """Write an :class:`~sim.records.Unbuilt` table a block of rows at a time: the same bytes
    as its whole frame's CSV, without the whole frame."""
    if not len(rows):
        return write_frame_csv(rows.frame(), path)

    def write(p: Path) -> None:
        with open(p, "w", encoding="utf-8", newline="") as f:
            for k, block in enumerate(rows.blocks(CSV_BLOCK)):
                block.to_csv(f, index=False, header=k == 0, float_format=FLOAT_FORMAT)

    atomic_write(path, write)


def shared_folder(path) -> str | None:
    """Why ``path`` cannot hold a run's or a sweep's files of its own (the working directory,
    spelt ``.`` or in full, or a file system's root, whose other files the run's would mix
    with: ``hydra.sweep.dir=/`` wrote ``/summary.csv`` and ``/0/``), or None."""
    try:
        p = Path(path).resolve()
        here = Path.cwd().resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop: the folder's own check says
        return None
    if p == here:
        return "the working directory"
    if p == Path(p.anchor):
        return "the root of the file system"
    return None


def prepare_folder(out_dir: Path, skip=()) -> None:
    """Create ``out_dir`` (or fail with one line naming it) and check it is writable, with
    no folder where it writes a file of fixed name, nor a file where its ``plots`` go; the
    names in ``skip`` the run does not write (``plots`` with ``output.plots=false``)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the run folder ({e.strerror})", path=str(out_dir)) from None
    except ValueError:  # a NUL byte in the name (sim.run's output_dir): no system takes one
        raise InputError("cannot create the run folder (a NUL byte in its name)",
                         path=repr(str(out_dir))) from None
    if not out_dir.is_dir() or not os.access(out_dir, os.W_OK | os.X_OK):
        raise InputError("the run folder is not a writable folder", path=str(out_dir))
    # the names every run writes, checked before it runs (until December 2026 a folder named
    # summary.csv stopped the run after the whole simulation, naming a temporary file)
    for name in (n for n in RUN_FILES if n not in skip):
        if (out_dir / name).is_dir():
            raise _in_the_way(out_dir / name)
    for name in (n for n in RUN_FOLDERS if n not in skip):
        if (out_dir / name).exists() and not (out_dir / name).is_dir():
            raise _in_the_way(out_dir / name / "-")


# the files of fixed names a run may write in its folder (its tables' names vary by job),
# its markers (sim/sweep/resume.py) among them, and its figures' folder
RUN_FILES = ("summary.csv", "requests.parquet", "report.md", "config.yaml", "done.json",
             "error.txt", ".outputs.json")
RUN_FOLDERS = ("plots",)


def files_since(out_dir: Path, t0_ns: int, skip=()) -> list[str]:
    """The files under ``out_dir`` written at or after ``t0_ns`` (``time.time_ns()``), except
    Hydra's own (``.hydra/``, logs), hidden files and ``skip``: the files one run wrote."""
    out = []
    for p in Path(out_dir).rglob("*"):
        if (p.is_file() and ".hydra" not in p.parts and not p.name.startswith(".")
                and not p.name.endswith(".log") and p.name not in skip
                and p.stat().st_mtime_ns >= t0_ns):
            out.append(str(p.relative_to(out_dir)))
    return sorted(out)


def remove_listed(out_dir: Path, names) -> None:
    """Delete the listed files under ``out_dir`` (an earlier run's outputs), then any folder
    they leave empty; nothing outside ``out_dir`` and nothing unlisted is touched."""
    root = Path(out_dir).resolve()
    for name in names:
        p = (root / name).resolve()
        if root in p.parents and p.is_file():
            p.unlink()
            parent = p.parent
            while parent != root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def remove_empty_up_to_cwd(d: Path) -> None:
    """Remove ``d`` and then its parents while each is empty, stopping at the folder the
    command ran in (the folders Hydra made for a run or sweep that wrote nothing)."""
    stop, d = Path.cwd().resolve(), Path(d).resolve()
    while d != stop and stop in d.parents:
        try:
            d.rmdir()  # only an empty folder goes
        except OSError:
            break
        d = d.parent


# the text columns of the tables a run or a sweep writes whose values are names the user
# gives (a tenant, a setup, a job folder, a model), read back as text: with pandas' default
# missing-value strings a tenant named ``NA``, ``nan``, ``null``, ``None`` or ``""`` read
# back as a float NaN, and every sweep of it ended in an AttributeError (a warning, exit 0,
# no sweep summary.csv nor report.md; ``python -m sim.sweep`` a traceback). Every other
# column reads with pandas' defaults (an empty cell of a scenario key stays missing).
NAME_COLUMNS = {"setup": [], "tenant": [], "job": [], "model": [""]}
_DEFAULT_NA = sorted(STR_NA_VALUES)  # pandas' own missing-value strings, for the other columns


def read_csv_names(text: str) -> pd.DataFrame:
    """``pd.read_csv`` of the CSV ``text`` with the :data:`NAME_COLUMNS` read as text (a
    model's empty cell still missing), every other column as pandas reads it."""
    header = pd.read_csv(io.StringIO(text), nrows=0).columns
    na = {c: (NAME_COLUMNS[c] if c in NAME_COLUMNS else _DEFAULT_NA) for c in header}
    dtype = {c: str for c in header if c in NAME_COLUMNS}
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=na, dtype=dtype)
