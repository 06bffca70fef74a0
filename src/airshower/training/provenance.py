"""What a trained model came from: input files with sizes and checksums, software versions, host."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from airshower.atomic import write_text

_PACKAGES = ("airshower", "torch", "numpy", "h5py", "tqdm", "jsonschema", "pyyaml")


def sha256_file(path: str | Path, block: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes (read in 4 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path: str | Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """``{path, size_bytes, sha256}`` of an input file.

    With ``cache_dir``, the checksum is kept there (keyed by the resolved path, size and
    modification time) so that resuming a run does not hash a large file again.
    """
    path = Path(path)
    st = path.stat()
    key = {"path": str(path.resolve()), "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    cache = None
    if cache_dir is not None:
        name = hashlib.sha256(key["path"].encode()).hexdigest()[:16]
        cache = cache_dir / f"sha256-{name}.json"
        try:
            saved = json.loads(cache.read_text())
            if {k: saved.get(k) for k in key} == key:
                return {"path": str(path), "size_bytes": st.st_size, "sha256": saved["sha256"]}
        except (OSError, ValueError, KeyError):
            pass
    digest = sha256_file(path)
    if cache is not None:
        write_json_atomic(cache, {**key, "sha256": digest})
    return {"path": str(path), "size_bytes": st.st_size, "sha256": digest}


def versions() -> dict[str, str]:
    """Versions of Python and of the packages training depends on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    try:
        import torch

        out["torch_cuda"] = str(torch.version.cuda)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return out


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def host() -> dict[str, str]:
    return {"hostname": platform.node(), "platform": platform.platform(), "python_executable": sys.executable}


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` through a temporary file, fsync and a rename."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n", durable=True)
