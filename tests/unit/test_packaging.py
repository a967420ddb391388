"""The package step leaves out of the Lambda layer exactly what the runtime provides, and adds
bytecode Python uses as it is."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import packaging

pytestmark = pytest.mark.unit

SITE = f"python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
PYC = f"{sys.implementation.cache_tag}.pyc"


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

    done = packaging.finish_zip(layer)

    assert {n for n in _names(layer) if "__pycache__" not in n} == set(kept)
    assert done.dropped_files == len(dropped) and done.dropped_bytes > 0
    with zipfile.ZipFile(layer) as z:
        assert z.testzip() is None
        assert z.read(SITE + "typing_extensions.py").startswith(b"# ")


def test_the_layer_gets_bytecode_python_loads_without_checking_the_source(
    tmp_path: Path,
) -> None:
    layer = tmp_path / "layer-deployment.zip"
    with zipfile.ZipFile(layer, "w") as z:
        z.writestr(SITE + "summonpkg/__init__.py", "WHERE = 'compiled'\n")
        z.writestr(SITE + "summonpkg/broken.py", "def (:\n")  # not Python: left uncompiled

    done = packaging.finish_zip(layer)

    assert done.compiled_files == 1
    assert SITE + f"summonpkg/__pycache__/__init__.{PYC}" in _names(layer)
    root = tmp_path / "opt"
    zipfile.ZipFile(layer).extractall(root)
    source = root / SITE / "summonpkg" / "__init__.py"
    source.write_text("WHERE = 'source'  # changed after packaging\n")  # the .pyc still wins
    found = subprocess.run(
        [sys.executable, "-B", "-c", "import summonpkg; print(summonpkg.WHERE)"],
        env={"PYTHONPATH": str(root / SITE)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "compiled"


def test_finishing_twice_changes_nothing_and_an_app_zip_of_unknown_python_stays(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    layer = _zip(out / "layer-deployment.zip", [SITE + "botocore/x.py", SITE + "jwt/api.py"])
    app = _zip(out / "deployment.zip", ["app.py", "chalicelib/__init__.py", "chalice/app.py"])
    app_bytes = app.read_bytes()

    first = packaging.finish(tmp_path, [out])
    mtime = layer.stat().st_mtime_ns
    second = packaging.finish(tmp_path, [out])

    assert [(s.dropped_files, s.compiled_files) for s in first] == [(1, 1), (0, 0)]
    assert [(s.dropped_files, s.compiled_files) for s in second] == [(0, 0), (0, 0)]
    assert layer.stat().st_mtime_ns == mtime
    assert _names(layer) == {SITE + "jwt/api.py", SITE + f"jwt/__pycache__/api.{PYC}"}
    assert app.read_bytes() == app_bytes


def test_chalices_cached_packages_are_finished_too(tmp_path: Path) -> None:
    cache = tmp_path / ".chalice" / "deployments"
    cache.mkdir(parents=True)
    py = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    layer = _zip(cache / f"managed-layer-abc-{py}.zip", [SITE + "urllib3/x.py", SITE + "a.py"])
    app = _zip(cache / f"appcode-abc-{py}.zip", ["app.py", f"__pycache__/app.{PYC}"])
    whole = _zip(cache / f"abc-{py}.zip", ["botocore/x.py", "pynamodb/x.py", "app.py"])

    packaging.finish(tmp_path)

    assert _names(layer) == {SITE + "a.py", SITE + f"__pycache__/a.{PYC}"}
    # The working tree's timestamp-checked .pyc is replaced by one that needs no timestamp.
    assert _names(app) == {"app.py", f"__pycache__/app.{PYC}"}
    with zipfile.ZipFile(app) as z:
        assert z.read(f"__pycache__/app.{PYC}")[4:8] == b"\x01\x00\x00\x00"  # unchecked hash
    # Chalice swaps the latest app files into a cached whole package when it reuses it: no
    # bytecode there (it would outlive app.py), only the SDK goes.
    assert _names(whole) == {"pynamodb/x.py", "app.py"}


def _elf(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF shared object for ``machine``."""
    return (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + (3).to_bytes(2, "little")
        + machine.to_bytes(2, "little")
    )


def _layer(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(SITE + name, data)
    return path


REQUIREMENTS = "pynamodb==6.1.0\nPyJWT[crypto]==2.15.1  # a comment\npillow==12.2.0\n"


@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_a_layer_with_every_requirement_built_for_its_architecture_passes(
    tmp_path: Path, architecture: str
) -> None:
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    machine = packaging.ELF_MACHINES[architecture]
    layer = _layer(
        tmp_path / "layer.zip",
        {
            "pynamodb-6.1.0.dist-info/METADATA": b"",
            "PyJWT-2.15.1.dist-info/METADATA": b"",
            "pillow-12.2.0.dist-info/METADATA": b"",
            "PIL/_imaging.cpython-311-aarch64-linux-gnu.so": _elf(machine),
        },
    )
    packaging.check_layer(
        layer, architecture=architecture, requirements=tmp_path / "requirements.txt"
    )


def test_a_layer_with_native_code_of_another_architecture_is_refused(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pillow==12.2.0\n")
    layer = _layer(
        tmp_path / "layer.zip",
        {
            "pillow-12.2.0.dist-info/METADATA": b"",
            "PIL/_imaging.cpython-311-x86_64-linux-gnu.so": _elf(packaging.ELF_MACHINES["x86_64"]),
        },
    )
    with pytest.raises(SystemExit, match=r"_imaging.*not built for arm64"):
        packaging.check_layer(
            layer, architecture="arm64", requirements=tmp_path / "requirements.txt"
        )


def test_a_requirement_chalice_left_out_of_the_layer_is_refused(tmp_path: Path) -> None:
    """Chalice only warns when it finds no wheel for the runtime's glibc and architecture."""
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    layer = _layer(tmp_path / "layer.zip", {"pynamodb-6.1.0.dist-info/METADATA": b""})
    with pytest.raises(SystemExit, match="pillow, pyjwt missing from the arm64 layer"):
        packaging.check_layer(
            layer, architecture="arm64", requirements=tmp_path / "requirements.txt"
        )
