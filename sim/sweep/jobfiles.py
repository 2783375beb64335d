"""A sweep job folder's files read back (``.hydra/overrides.yaml``, ``summary.csv``,
``config.yaml``, ``error.txt``), by the sweep-root table (:mod:`sim.sweep.aggregate`) and a
resumed sweep (:mod:`sim.sweep.skip`). The sweep writes them itself; a copy damaged since
(truncated, emptied, binary, hand-edited) is an :class:`~sim.errors.InputError` naming the
file and, where it has one, the line: read as it came, it ended in a traceback or in fewer
rows (or no notes, prices or objective) unsaid."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf._utils import get_yaml_loader

from sim.errors import InputError
from sim.io import read_csv_names
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.textfiles import csv_rows, read_text

SUMMARY_KEYS = ("setup", "tenant")  # columns every run's non-empty summary.csv has
# the columns of a run's summary.csv that hold numbers: text in one (a hand edit) ended in a
# ValueError traceback as the sweep's tables or figures were drawn (the twenty-first sweep)
SUMMARY_NUMBERS = tuple(c for c in SUMMARY_COLUMNS if c not in ("setup", "tenant", "model"))


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML as OmegaConf reads it (its implicit types: ``1e-3`` a float, no timestamps),
    parsed by libyaml when present: a job's 32 kB ``config.yaml`` in 0.02 s, not the 0.21 s
    of ``OmegaConf.load`` (read once per job as it ends and once more at the sweep's end)."""


_Loader.yaml_implicit_resolvers = get_yaml_loader().yaml_implicit_resolvers


def _yaml(path: Path, what: str, loader=_Loader):
    """The YAML document of the file ``path``; one that does not parse is an InputError."""
    try:
        return yaml.load(read_text(path, what), Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise InputError(f"not a {what} (YAML: {getattr(e, 'problem', None) or type(e).__name__})",
                         path=str(path), line=mark.line + 1 if mark else None) from None
    except RecursionError:
        raise InputError(f"not a {what} (YAML nested too deeply)", path=str(path)) from None


def load_yaml(path: Path) -> dict:
    """A config a run wrote (``config.yaml``, ``multirun.yaml``) as a dict; absent is ``{}``,
    one that is not a YAML mapping an InputError (it was read as absent, unsaid)."""
    if not path.is_file():
        return {}
    d = _yaml(path, "config file")
    if d is not None and not isinstance(d, dict):
        raise InputError(f"not a config file (a YAML {type(d).__name__}, not a mapping)",
                         path=str(path))
    return d or {}


def parse_overrides(lines: list[str]) -> dict[str, object]:
    """``key=value`` overrides to a dict of values (numbers as numbers), via Hydra's parser."""

    out: dict[str, object] = {}
    for ov in OverridesParser.create().parse_overrides(list(lines)):
        if ov.is_delete():
            continue
        key = ov.key_or_group
        if key.startswith("hydra.") or key.startswith("hydra/"):
            continue
        val = ov.value()
        if isinstance(val, (list, dict)):
            val = ov.get_value_element_as_str()
        out[key] = val
    return out


def read_overrides(d: Path) -> dict[str, object]:
    """Job folder ``d``'s ``.hydra/overrides.yaml`` (a list of ``key=value`` strings) as values."""
    path = d / ".hydra" / "overrides.yaml"
    lines = _yaml(path, "list of overrides", yaml.SafeLoader) or []
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise InputError("not a list of overrides (key=value strings)", path=str(path))
    try:
        return parse_overrides(lines)
    except OverrideParseException as e:
        raise InputError(f"not a list of overrides: {str(e).strip().splitlines()[0]}",
                         path=str(path)) from None


def read_frame(path: Path, what: str = "table", columns=(), numbers=()) -> pd.DataFrame:
    """A CSV a run wrote (``summary.csv``, a job's tables). Blank is no rows (a job without
    a summary, e.g. calibration, writes one line break); an empty file, a last line cut
    short, a row of another length than the header, a header without ``columns``, or a
    field of a column of ``numbers`` that is not a number (empty: none) is refused."""
    text = read_text(path, what)
    if text and not text.strip():
        return pd.DataFrame()
    if not text.endswith(("\n", "\r")):  # pandas ends every file it writes with a line break
        raise InputError("cut short: no line break at its end" if text else "empty file",
                         path=str(path), line=text.count("\n") + 1)
    header, lines, rows = csv_rows(text, path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"not a run's {what}: no column {', '.join(map(repr, missing))}",
                         path=str(path), line=header.line)
    df = read_csv_names(text)
    if len(df) != len(rows):  # a spreadsheet's emptied row (bare commas): pandas keeps a NaN row
        out = io.StringIO()  # the rows csv_rows kept, typed as the file without them would be
        csv.writer(out).writerows([header, *rows])
        df = read_csv_names(out.getvalue())
    for c in (c for c in numbers if c in header):
        at = list(header).index(c)
        for line, r in zip(lines, rows):
            if r[at].strip() and not _number(r[at]):
                raise InputError(f"column {c!r}: not a number: {r[at][:40]!r}", path=str(path),
                                 line=line)
    return df


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# done.json's record of the rows the job wrote into each of its tables (top-level .csv): a
# copy cut at a line boundary or left with its header alone reads as a well-formed table of
# fewer rows (until December 2026 aggregated, and read back by a resumed sweep, unsaid; until
# the next session only summary.csv's rows were recorded, so a replications.csv cut at a line
# moved a sweep's list price and a resumed job read back any other table cut so)
TABLE_ROWS = "table_rows"


def tables_of(files) -> list[str]:
    """A job's tables among the ``files`` its ``done.json`` lists: its top-level ``.csv``."""
    return [f for f in files if isinstance(f, str) and f.endswith(".csv") and "/" not in f]


def table_rows(out_dir: Path, files) -> dict[str, int]:
    """The rows of each table (:func:`tables_of`) a job has just written, for its
    ``done.json``."""
    return {f: len(read_frame(Path(out_dir) / f, f)) for f in tables_of(files)}


def recorded_rows(done: dict | None, path: Path) -> int | None:
    """The rows the job's ``done.json`` records it wrote into the table ``path``; None
    without the record (a done.json written before it)."""
    record = (done or {}).get(TABLE_ROWS)
    wrote = record.get(Path(path).name) if isinstance(record, dict) else None
    return wrote if type(wrote) is int else None


def check_rows(df: pd.DataFrame, path: Path, done: dict | None) -> pd.DataFrame:
    """``df``, read from ``path``, when it has as many rows as the job's ``done.json`` records
    it wrote there (a done.json without the record: not checked); else one line."""
    wrote = recorded_rows(done, path)
    if wrote is not None and wrote != len(df):
        raise InputError(f"{len(df)} row(s), where the job's done.json records {wrote} written: "
                         "rows removed or added since (a copy cut short or emptied)", path=str(path))
    return df


def read_summary(path: Path, done: dict | None = None) -> pd.DataFrame:
    """A job's ``summary.csv`` (:func:`read_frame`); with its ``done.json`` (``done``), of as
    many rows as that records the job wrote (:func:`check_rows`); one it records gone (or a
    folder in its place) is refused the same way (until December 2026 a missing job)."""
    wrote = recorded_rows(done, path)
    if wrote is not None and not Path(path).is_file():
        raise InputError(f"{'a folder' if Path(path).is_dir() else 'missing'}, where the job's "
                         f"done.json records {wrote} row(s) written: removed or replaced since",
                         path=str(path))
    return check_rows(read_frame(path, "summary.csv", SUMMARY_KEYS, SUMMARY_NUMBERS), path, done)


def read_error(path: Path) -> str:
    """The last line of a failed job's ``error.txt`` (its message), at most 300 characters;
    empty or unreadable as text: ''."""
    try:
        lines = path.read_bytes().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def run_notes(d: Path) -> list[str]:
    """The notes a finished job's ``report.md`` lists under ``## Notes`` (what its run
    changed or warns of); without a report (``output.report=false``), those its
    ``done.json`` lists (until December 2026 none: the sweep's report left them out)."""
    p = d / "report.md"
    if not p.is_file():
        try:
            notes = json.loads((d / "done.json").read_bytes()).get("notes")
        except (OSError, ValueError, AttributeError, RecursionError):
            return []
        return [n for n in notes if isinstance(n, str)] if isinstance(notes, list) else []
    text = p.read_bytes().decode("utf-8", "replace")
    _, head, rest = text.partition("\n## Notes\n\n")
    lines = rest.split("\n\n", 1)[0].splitlines() if head else []
    return [ln[2:] for ln in lines if ln.startswith("- ")]
