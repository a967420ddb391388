"""package_size: what ``make package`` ships -- the app's deployment zip plus the shared
dependency layer (``automatic_layer``), without the AWS SDK the Lambda runtime provides
(``infra/packaging.py``) -- zipped and unpacked, against Lambda's 50 MB (zipped, direct
upload) and 250 MB (unpacked, function + layers) limits. The detail line names the biggest
distributions left in the layer."""

from __future__ import annotations

import collections
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import packaging  # noqa: E402

TARGET_MB = 20.0


@dataclass(frozen=True)
class Size:
    zip_mb: float
    unpacked_mb: float
    files: int
    app_mb: float
    layer_mb: float
    biggest: list[tuple[str, float]]


def measure() -> Size:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        packaging.package("dev", out)
        zipped = unpacked = files = 0
        sizes: dict[str, float] = {}
        biggest: collections.Counter[str] = collections.Counter()
        for archive in sorted(out.glob("*.zip")):
            with zipfile.ZipFile(archive) as z:
                unpacked += sum(i.file_size for i in z.infolist())
                files += len(z.infolist())
                if archive.name == "layer-deployment.zip":
                    for i in z.infolist():
                        biggest[packaging._distribution(i.filename)] += i.compress_size
            zipped += archive.stat().st_size
            sizes[archive.name] = archive.stat().st_size / 1e6
        return Size(
            zip_mb=zipped / 1e6,
            unpacked_mb=unpacked / 1e6,
            files=files,
            app_mb=sizes.get("deployment.zip", 0.0),
            layer_mb=sizes.get("layer-deployment.zip", 0.0),
            biggest=[(name, size / 1e6) for name, size in biggest.most_common(5)],
        )


def main() -> None:
    m = measure()
    print(
        f"package_size: {m.zip_mb:.1f} MB zipped (limit 50, target <= {TARGET_MB:.0f}; "
        f"app {m.app_mb:.2f} MB + layer {m.layer_mb:.1f} MB), "
        f"{m.unpacked_mb:.1f} MB unpacked (limit 250), {m.files} files",
        flush=True,
    )
    biggest = ", ".join(f"{name} {mb:.1f}" for name, mb in m.biggest)
    print(
        f"    layer without the runtime's SDK ({', '.join(sorted(packaging.RUNTIME_PROVIDED))}; "
        f"infra/packaging.py); biggest left, MB zipped: {biggest}",
        flush=True,
    )


if __name__ == "__main__":
    main()
