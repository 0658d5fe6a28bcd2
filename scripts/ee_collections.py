"""Pack installed collections (the `ansible` package's copies) as collection artifacts.

    python scripts/ee_collections.py OUTDIR azure.azcollection community.general

No Galaxy from our machines: the execution environment installs these from
tarballs in its build context. An installed collection has the artifact's
MANIFEST.json and FILES.json, but the `ansible` package leaves some files out
(.github/, tests/...) that FILES.json still lists, which ansible-galaxy refuses.
The tarball therefore gets a FILES.json of the files that are there, each
checked against its recorded sha256, and a MANIFEST.json with that FILES.json's
new checksum. Output: OUTDIR/<namespace>-<name>.tar.gz, reproducible bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import ansible_collections


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, path: Path | None = None,
         directory: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        return
    if data is None:
        data = path.read_bytes()
        info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    else:
        info.mode = 0o644
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def pack(fqcn: str, outdir: Path) -> Path:
    namespace, name = fqcn.split(".")
    root = Path(ansible_collections.__path__[0]) / namespace / name
    files = json.loads((root / "FILES.json").read_text())
    kept = []
    for entry in files["files"]:
        path = root / entry["name"]
        if entry["name"] == ".":
            kept.append(entry)
        elif entry["ftype"] == "dir" and path.is_dir():
            kept.append(entry)
        elif entry["ftype"] == "file" and path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != entry["chksum_sha256"]:
                raise SystemExit(f"{fqcn}: {entry['name']} differs from its FILES.json checksum")
            kept.append(entry)
    files_json = json.dumps({**files, "files": kept}, indent=4).encode()
    manifest = json.loads((root / "MANIFEST.json").read_text())
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    out = outdir / f"{namespace}-{name}.tar.gz"
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "MANIFEST.json", json.dumps(manifest, indent=4).encode())
        _add(tar, "FILES.json", files_json)
        for entry in kept:
            if entry["name"] != ".":
                _add(tar, entry["name"], path=root / entry["name"], directory=entry["ftype"] == "dir")
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for collection in sys.argv[2:]:
        print(pack(collection, target))
