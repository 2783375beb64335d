"""Files a reader cannot take, said as what they are (the twenty-second sweep): a config file
Hydra does not list (a FIFO, a device, a link to nothing), a file or folder the user may not
read, a sweep folder of another user's; and a data file of a known kind that is not UTF-8
text (another compression, UTF-32, UTF-16 without its mark). Before, the config files were
"unknown option 'mine'" with the file in plain sight, an unreadable experiment file "cannot
write the run folder", and ``python -m sim.sweep`` on an unreadable folder a traceback."""

from __future__ import annotations

import bz2
import csv
import functools
import gzip
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import sim
from sim.errors import InputError
from sim.textfiles import binary_kind, csv_rows

MINE = "# @package _global_\nhorizon_s: 2\n"


def _compose_error(base: Path) -> str:
    with pytest.raises(InputError) as e:
        sim.compose([f"hydra.searchpath=[file://{base}]", "experiment=mine"])
    return str(e.value)


@pytest.mark.parametrize("make, said", [
    (lambda p: os.mkfifo(p), "a FIFO, not a regular file"),
    (lambda p: p.symlink_to("/dev/null"), "a device, not a regular file"),
    (lambda p: p.symlink_to("nope.yaml"), "a link that leads to no file"),
    (lambda p: p.symlink_to(p.name), "a link that leads to no file (Too many levels"),
])
def test_an_experiment_file_hydra_does_not_list_is_said_as_what_it_is(tmp_path, make, said):
    (tmp_path / "experiment").mkdir()
    make(tmp_path / "experiment" / "mine.yaml")
    said_now = _compose_error(tmp_path)
    assert said_now.startswith(f"{tmp_path}/experiment/mine.yaml: {said}"), said_now
    assert said_now.endswith("Hydra does not list it, so experiment=mine is unknown"), said_now


def test_an_option_of_no_such_file_is_still_unknown(tmp_path):
    (tmp_path / "experiment").mkdir()
    assert _compose_error(tmp_path).startswith("config key 'experiment': unknown option 'mine'")


@pytest.mark.parametrize("raw, kind", [
    (bz2.compress(b"a,b\n1,2\n"), "compressed with bzip2"),
    (lzma.compress(b"a,b\n1,2\n"), "compressed with xz"),
    (b"\x28\xb5\x2f\xfd" + b"\0" * 20, "compressed with zstd"),
    (b"PK\x03\x04" + b"\0" * 20, "compressed with zip"),
    ("a,b\n1,2\n".encode("utf-32"), "UTF-32 text"),
    ("a,b\n1,2\n".encode("utf-32-be"), None),  # without its mark: three NULs a character
    ("a,b\n1,2\n".encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
    ("a,b\n1,2\n".encode("utf-16-be"), "UTF-16 text without a byte-order mark"),
    ("a,b\n1,2\n".encode("utf-16"), None),  # its mark: said by the UTF-8 check, as before
    (b"BZh,x\n1,2\n", None),  # a CSV whose first column is named BZh: text
    (b"\0" * 64, None),  # NULs alone: left to the readers, which name the line
    ("tokens,prob\n10,1\n".encode(), None),
])
def test_a_known_kind_of_file_that_is_not_utf8_text_is_named(raw, kind):
    got = binary_kind(raw)
    assert got is None if kind is None else got is not None and got.startswith(kind), got


def test_a_gzip_file_inside_a_gzip_file_is_said_so(tmp_path):
    from sim.textfiles import read_bytes
    p = tmp_path / "t.csv"
    p.write_bytes(gzip.compress(gzip.compress(b"a,b\n1,2\n")))
    with pytest.raises(InputError, match="a gzip file inside a gzip file"):
        read_bytes(p)
    p.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert read_bytes(p) == (b"a,b\n1,2\n", 0)


def test_a_csv_field_longer_than_the_csv_modules_limit_is_read_and_the_limit_kept():
    before = csv.field_size_limit()
    text = 'n,prompt\n1,"' + "w" * 300_000 + '"\n2,x\n'
    header, lines, rows = csv_rows(text, "t.csv")
    assert (list(header), lines, [r[0] for r in rows], len(rows[0][1])) == (["n", "prompt"], [2, 3],
                                                                              ["1", "2"], 300_000)
    assert csv.field_size_limit() == before  # the caller's own csv setting, as it was


# a user other than the files' owner: root reads every file, so the refusals are met only so
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
as_another_user = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                                     reason="needs root to run as another user (setpriv)")


def _as_nobody(code: str, base: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(sim.__file__).parent.parent)}
    return subprocess.run([*NOBODY, sys.executable, "-c", code], cwd=base, capture_output=True,
                          text=True, timeout=120, env=env)


@functools.lru_cache(maxsize=1)
def _nobody_cannot_run() -> str:
    """Why another user cannot run the project with this interpreter ('' if it can): a
    virtual environment in a folder only its owner may enter (`.ci/run`'s, made by mktemp)
    is unreadable to them, so every such test would fail on the import, not on its check."""
    r = _as_nobody("import hydra, numpy, pandas, sim", Path(tempfile.gettempdir()))
    return "" if r.returncode == 0 else (r.stderr.strip().splitlines() or ["?"])[-1]


@pytest.fixture
def shared_dir():
    """A folder another user can enter (pytest's own are the owner's alone)."""
    why = _nobody_cannot_run()
    if why:
        pytest.skip(f"another user cannot import the project with this interpreter: {why}")
    d = Path(tempfile.mkdtemp(prefix="servesim-"))
    d.chmod(0o777)
    yield d
    subprocess.run(["chmod", "-R", "u+rwx", str(d)], check=False)
    shutil.rmtree(d, ignore_errors=True)


@as_another_user
@pytest.mark.parametrize("lock, said", [
    ("experiment/mine.yaml", "experiment/mine.yaml: cannot read this config file (Permission denied)"),
    ("experiment", "experiment: cannot read this folder (Permission denied)"),
])
def test_a_config_file_the_user_may_not_read_is_said_unreadable(shared_dir, lock, said):
    (shared_dir / "experiment").mkdir()
    (shared_dir / "experiment" / "mine.yaml").write_text(MINE)
    (shared_dir / lock).chmod(0)
    r = _as_nobody("import sim\ntry:\n    sim.compose(['hydra.searchpath=[file://"
                   f"{shared_dir}]', 'experiment=mine'])\nexcept sim.InputError as e:\n"
                   "    print(e)", shared_dir)
    assert r.stdout.strip() == f"{shared_dir}/{said}", r.stderr  # was "cannot write the run folder"


@as_another_user
@pytest.mark.parametrize("lock, said", [
    ("sw", "sw: cannot read this folder (Permission denied)"),
    ("sw/0", "sw/0: cannot read this folder (Permission denied)"),
])
def test_a_sweep_folder_the_user_may_not_read_is_one_line(shared_dir, lock, said):
    (shared_dir / "sw" / "0" / ".hydra").mkdir(parents=True)
    (shared_dir / "sw" / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    (shared_dir / lock).chmod(0)
    r = _as_nobody(f"import sys\nfrom sim.sweep.__main__ import main\nsys.exit(main(['{shared_dir}/sw']))",
                   shared_dir)
    assert (r.returncode, r.stderr) == (2, f"error: {shared_dir}/{said}\n")  # was a traceback


@as_another_user
def test_a_data_file_in_a_folder_the_user_may_not_enter_is_not_called_missing(shared_dir):
    (shared_dir / "sub").mkdir()
    (shared_dir / "sub" / "a.csv").write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                              "2023-11-16 18:17:00.0,10,2\n")
    (shared_dir / "sub").chmod(0)
    r = _as_nobody("import sim\ntry:\n    sim.run(['horizon_s=1', 'tenants.chat.arrival.kind=trace', "
                   f"'tenants.chat.arrival.trace.path={shared_dir}/sub/a.csv'])\n"
                   "except sim.InputError as e:\n    print(e)", shared_dir)
    assert r.stdout.strip() == (f"{shared_dir}/sub/a.csv, config key 'tenants.chat.arrival.trace.path': "
                                "cannot read trace file: a folder on its path may not be entered "
                                "(Permission denied)"), r.stderr  # was "not found"


@as_another_user
def test_a_search_path_folder_the_user_may_not_read_is_not_an_unknown_option(shared_dir):
    (shared_dir / "sp" / "experiment").mkdir(parents=True)
    (shared_dir / "sp" / "experiment" / "mine.yaml").write_text(MINE)
    (shared_dir / "sp").chmod(0)
    r = _as_nobody("import sim\ntry:\n    sim.compose(['hydra.searchpath=[file://"
                   f"{shared_dir}/sp]', 'experiment=mine'])\nexcept sim.InputError as e:\n"
                   "    print(e)", shared_dir)
    assert r.stdout.strip() == (f"{shared_dir}/sp: cannot read this folder (Permission denied), "
                                "so experiment=mine is unknown"), r.stderr  # was "unknown option"
