"""axe-core, the accessibility engine, fetched from the npm registry for the browser
tests only. The tarball is checked against the registry's published integrity hash
and kept inside the virtual environment, so it is fetched once per machine."""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = "4.14.1"
TARBALL = f"https://registry.npmjs.org/axe-core/-/axe-core-{VERSION}.tgz"
INTEGRITY = (
    "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/"
    "pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
CACHE = Path(sys.prefix) / "share" / f"axe-core-{VERSION}" / "axe.min.js"

#: The impacts a page may not have.
BLOCKING = frozenset({"serious", "critical"})


def source() -> str:
    """The text of axe.min.js, downloading and verifying it the first time."""
    if not CACHE.exists():
        with urllib.request.urlopen(TARBALL, timeout=60) as response:
            tarball = response.read()
        digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        if f"sha512-{digest}" != INTEGRITY:
            raise RuntimeError(f"axe-core {VERSION} from the registry failed its check")
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            member = archive.extractfile("package/axe.min.js")
            if member is None:
                raise RuntimeError("axe.min.js is missing from the axe-core package")
            script = member.read()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        partial = CACHE.with_suffix(".part")
        partial.write_bytes(script)
        partial.replace(CACHE)
    return CACHE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact}: {self.rule} ({self.help}) at {', '.join(self.targets)}"


def violations(results: dict[str, Any]) -> list[Violation]:
    return [
        Violation(
            rule=found["id"],
            impact=found.get("impact") or "",
            help=found["help"],
            targets=tuple(
                " ".join(str(part) for part in node["target"])
                for node in found["nodes"]
            ),
        )
        for found in results["violations"]
    ]
