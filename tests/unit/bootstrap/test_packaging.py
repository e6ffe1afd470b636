from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from bootstrap.packaging import build_zip, code_sha256, package


def test_zip_layout_has_handler_at_root_and_common_folder(functions_dir: Path) -> None:
    pycache = functions_dir / "book_flight" / "__pycache__"
    pycache.mkdir()
    (pycache / "app.cpython-313.pyc").write_bytes(b"x")
    (functions_dir / "book_flight" / "tests").mkdir()
    (functions_dir / "book_flight" / "tests" / "test_app.py").write_text("")
    names = zipfile.ZipFile(io.BytesIO(build_zip(functions_dir, "book_flight"))).namelist()
    assert names == ["app.py", "common/__init__.py", "common/helper.py"]


def test_templates_stay_out_of_the_zip(functions_dir: Path) -> None:
    names = zipfile.ZipFile(io.BytesIO(build_zip(functions_dir, "send_booking_receipt"))).namelist()
    assert not [n for n in names if "templates" in n]


def test_same_source_same_sha_whatever_the_mtime_and_mode(functions_dir: Path) -> None:
    first = package(functions_dir, "sync_flights")
    app = functions_dir / "sync_flights" / "app.py"
    os.utime(app, (1_000_000_000, 1_000_000_000))
    app.chmod(0o755)
    second = package(functions_dir, "sync_flights")
    assert first.sha256 == second.sha256
    info = zipfile.ZipFile(io.BytesIO(second.zip_bytes)).getinfo("app.py")
    assert info.date_time == (1980, 1, 1, 0, 0, 0)
    assert (info.external_attr >> 16) & 0o777 == 0o644


def test_changed_source_changes_sha(functions_dir: Path) -> None:
    before = package(functions_dir, "book_flight").sha256
    (functions_dir / "common" / "helper.py").write_text("VALUE = 2\n")
    assert package(functions_dir, "book_flight").sha256 != before


def test_sha_is_lambdas_code_sha256_format() -> None:
    # Lambda reports base64(sha256(zip)); for empty input that is this well-known value.
    assert code_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
