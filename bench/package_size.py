"""package_size: what ``chalice package`` ships -- the app's deployment zip plus the shared
dependency layer (``automatic_layer``) -- zipped and unpacked, against Lambda's 50 MB
(zipped, direct upload) and 250 MB (unpacked, function + layers) limits."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 20.0


def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
        chalice = Path(sys.executable).with_name("chalice")
        subprocess.run(
            [str(chalice), "package", "--stage", "dev", "--pkg-format", "cloudformation", out],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        zipped = unpacked = files = 0
        sizes: dict[str, float] = {}
        for archive in sorted(Path(out).glob("*.zip")):
            with zipfile.ZipFile(archive) as z:
                unpacked += sum(i.file_size for i in z.infolist())
                files += len(z.infolist())
            zipped += archive.stat().st_size
            sizes[archive.name] = archive.stat().st_size / 1e6
        return {
            "zip_mb": zipped / 1e6,
            "unpacked_mb": unpacked / 1e6,
            "files": files,
            "app_mb": sizes.get("deployment.zip", 0.0),
            "layer_mb": sizes.get("layer-deployment.zip", 0.0),
        }


def main() -> None:
    m = measure()
    print(
        f"package_size: {m['zip_mb']:.1f} MB zipped (limit 50, target <= {TARGET_MB:.0f}; "
        f"app {m['app_mb']:.2f} MB + layer {m['layer_mb']:.1f} MB), "
        f"{m['unpacked_mb']:.1f} MB unpacked (limit 250), {m['files']:.0f} files",
        flush=True,
    )


if __name__ == "__main__":
    main()
