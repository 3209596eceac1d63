"""Keep every release's book reachable under its own address: ``<site>/releases/v<version>/``.

The Pages workflow publishes one artifact per build of ``main``, so an older book survives only if
it travels with each new artifact. This tool keeps the books in an archive folder (the workflow's
checkout of the ``book-releases`` branch) and copies them into the site being published:

1. the first build that carries a new ``course_lib`` version (the commit the workflow tags
   ``v<version>``) is copied into ``<archive>/v<version>/``; later builds of the same version
   never overwrite it, so a release's address keeps showing the book of its tag;
2. every archived release is copied into ``<site>/releases/``, with an index page listing them,
   newest first.

Usage (from the repository root, after ``make book``)::

    python -m tools.publish_releases --site _build/html --archive ../releases
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def library_version(root: Path = ROOT) -> str:
    """The ``__version__`` written in ``course_lib/__init__.py`` (read as text, no import)."""
    text = (root / "course_lib" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, flags=re.M)
    if not match:
        raise ValueError("course_lib/__init__.py has no __version__ line")
    return match.group(1)


def archived_versions(archive: Path) -> list[str]:
    """The release folders (``v1.2.3``) in ``archive``, newest first."""
    if not archive.is_dir():
        return []
    found = [p.name for p in archive.iterdir() if p.is_dir() and VERSION_DIR.match(p.name)]
    return sorted(found, key=lambda name: tuple(int(x) for x in VERSION_DIR.match(name).groups()),
                  reverse=True)


def archive_build(site: Path, archive: Path, version: str) -> bool:
    """Copy the built ``site`` into ``archive/v<version>`` unless that release is archived already.

    Returns True when this build became the release's book."""
    if not VERSION_DIR.match(f"v{version}"):
        raise ValueError(f"version must look like 1.2.3, got {version!r}")
    if not (site / "index.html").is_file():
        raise ValueError(f"site has no index.html: {site} is not a built book")
    target = archive / f"v{version}"
    if target.exists():
        return False
    shutil.copytree(site, target, ignore=shutil.ignore_patterns("releases", ".buildinfo"))
    return True


def release_index(versions: list[str], current: str) -> str:
    """The HTML page that lists the archived releases (``versions`` newest first)."""
    items = "\n".join(
        f'    <li><a href="{html.escape(v)}/index.html">{html.escape(v)}</a>'
        + (" (the library of the book at the top of this site)" if v == f"v{current}" else "")
        + "</li>"
        for v in versions)
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>CNN Regression Pitfalls: every release's book</title></head>
<body>
  <main>
  <h1>Every release's book</h1>
  <p>Each release of <code>course_lib</code> keeps the book it was published with, at its own
  address. A term pinned to a release reads that release's book; the
  <a href="../index.html">site's front page</a> is always the latest build of <code>main</code>.</p>
  <ul>
{items}
  </ul>
  </main>
</body>
</html>
"""


def publish(site: Path, archive: Path, version: str) -> list[str]:
    """Archive this build if it is a new release, then copy every archived release into
    ``site/releases`` with its index. Returns the versions published, newest first."""
    archive.mkdir(parents=True, exist_ok=True)
    archive_build(site, archive, version)
    versions = archived_versions(archive)
    releases = site / "releases"
    if releases.exists():
        shutil.rmtree(releases)
    releases.mkdir()
    for name in versions:
        shutil.copytree(archive / name, releases / name)
    (releases / "index.html").write_text(release_index(versions, version))
    return versions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, required=True, help="the built book (_build/html)")
    parser.add_argument("--archive", type=Path, required=True,
                        help="the folder that keeps every release's book (book-releases branch)")
    parser.add_argument("--version", default=None, help="the release (default: course_lib's version)")
    args = parser.parse_args(argv)
    versions = publish(args.site, args.archive, args.version or library_version())
    print(f"releases published under {args.site / 'releases'}: {', '.join(versions)}")


if __name__ == "__main__":
    main()
