"""The package step leaves out of the Lambda layer exactly what the runtime provides."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infra import packaging

pytestmark = pytest.mark.unit

SITE = "python/lib/python3.11/site-packages/"


def _zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            z.writestr(name, f"# {name}\n" * 50)
    return path


def _names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as z:
        return set(z.namelist())


def test_the_runtime_sdk_leaves_the_layer_and_everything_else_stays(tmp_path: Path) -> None:
    kept = [
        SITE + "pynamodb/__init__.py",
        SITE + "pynamodb/connection/_botocore_private.py",  # mentions botocore, not botocore
        SITE + "pynamodb-6.1.0.dist-info/METADATA",
        SITE + "pydantic_core/_pydantic_core.so",
        SITE + "typing_extensions.py",
        SITE + "cryptography/__init__.py",
    ]
    dropped = [
        SITE + "botocore/__init__.py",
        SITE + "botocore/data/s3/2006-03-01/service-2.json.gz",
        SITE + "botocore-1.44.8.dist-info/METADATA",
        SITE + "dateutil/parser.py",
        SITE + "python_dateutil-2.9.0.post0.dist-info/RECORD",
        SITE + "jmespath/__init__.py",
        SITE + "jmespath-1.1.0.data/scripts/jp.py",
        SITE + "urllib3/__init__.py",
        SITE + "six.py",
        SITE + "six-1.17.0.dist-info/METADATA",
    ]
    layer = _zip(tmp_path / "layer-deployment.zip", kept + dropped)

    done = packaging.slim_zip(layer)

    assert _names(layer) == set(kept)
    assert done.files == len(dropped) and done.zipped_bytes > 0
    with zipfile.ZipFile(layer) as z:
        assert z.testzip() is None
        assert z.read(SITE + "typing_extensions.py").startswith(b"# ")


def test_slimming_twice_changes_nothing_and_the_app_zip_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    layer = _zip(out / "layer-deployment.zip", [SITE + "botocore/x.py", SITE + "jwt/api.py"])
    app = _zip(out / "deployment.zip", ["app.py", "chalicelib/__init__.py", "chalice/app.py"])
    app_bytes = app.read_bytes()

    first = packaging.slim(tmp_path, [out])
    mtime = layer.stat().st_mtime_ns
    second = packaging.slim(tmp_path, [out])

    assert [s.files for s in first] == [1, 0] and [s.files for s in second] == [0, 0]
    assert layer.stat().st_mtime_ns == mtime
    assert _names(layer) == {SITE + "jwt/api.py"}
    assert app.read_bytes() == app_bytes


def test_chalices_cached_packages_are_slimmed_too(tmp_path: Path) -> None:
    cache = tmp_path / ".chalice" / "deployments"
    cache.mkdir(parents=True)
    layer = _zip(cache / "managed-layer-abc-python3.11.zip", [SITE + "urllib3/x.py", SITE + "a.py"])
    whole = _zip(cache / "abc-python3.11.zip", ["botocore/x.py", "pynamodb/x.py", "app.py"])

    packaging.slim(tmp_path)

    assert _names(layer) == {SITE + "a.py"}
    assert _names(whole) == {"pynamodb/x.py", "app.py"}
