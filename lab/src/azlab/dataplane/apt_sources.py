"""The host's Debian apt sources: parsed (deb822 and one-line), reduced to the Debian
suite the lab's image is built for, and rendered for the guest.

The image is built from the host's own mirror (no mirror is hard-coded: lab hosts reach
only their configured mirror), and the guest's apt sources point at the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

#: The Debian release of the lab's image.
SUITE = "bookworm"
#: Host-side keyrings that also exist inside the guest (debian-archive-keyring).
_GUEST_KEYRING_PREFIX = "/usr/share/keyrings/debian-archive"


class AptSourcesError(RuntimeError):
    """The host's apt sources name no usable Debian mirror."""


@dataclass(frozen=True)
class AptSource:
    """One apt source (a deb822 paragraph or a one-line ``deb`` entry)."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    #: Remaining deb822 fields (Signed-By, Check-Valid-Until, ...), in order.
    options: tuple[tuple[str, str], ...] = field(default=())


def parse_deb822_sources(text: str) -> list[AptSource]:
    """Parse a ``.sources`` file (deb822); disabled paragraphs are skipped."""
    known = {"types", "uris", "suites", "components", "enabled"}
    sources = []
    for para in _deb822_paragraphs(text):
        words = {k.lower(): tuple(v.split()) for k, v in para if k.lower() in known}
        if tuple(w.lower() for w in words.get("enabled", ())) == ("no",):
            continue
        if not words.get("uris") or not words.get("suites"):
            continue
        options = tuple((k, v) for k, v in para if k.lower() not in known)
        sources.append(AptSource(words.get("types", ()), words["uris"], words["suites"],
                                 words.get("components", ()), options))
    return sources


def _deb822_paragraphs(text: str) -> Iterator[list[tuple[str, str]]]:
    """Yield paragraphs as ordered (field, value) lists; continuation lines join with \\n."""
    para: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if para:
                yield para
            para = []
        elif line[0] in " \t" and para:
            key, value = para[-1]
            para[-1] = (key, f"{value}\n{line.strip()}")
        elif ":" in line:
            key, value = line.split(":", 1)
            para.append((key.strip(), value.strip()))
    if para:
        yield para


_ONE_LINE_OPTIONS = {"signed-by": "Signed-By", "check-valid-until": "Check-Valid-Until",
                     "trusted": "Trusted", "arch": "Architectures"}


def parse_one_line_sources(text: str) -> list[AptSource]:
    """Parse legacy ``sources.list`` lines (``deb [opts] uri suite [component...]``)."""
    sources = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 3 or words[0] not in ("deb", "deb-src"):
            continue
        kind, rest = words[0], words[1:]
        options = []
        if rest[0].startswith("["):
            opts = []
            while rest:
                word = rest.pop(0)
                opts.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            for opt in filter(None, opts):
                key, _, value = opt.partition("=")
                options.append((_ONE_LINE_OPTIONS.get(key.lower(), key), value))
        if len(rest) < 2:
            continue
        sources.append(AptSource((kind,), (rest[0],), (rest[1],), tuple(rest[2:]),
                                 tuple(options)))
    return sources


def read_apt_sources(apt_dir: Path = Path("/etc/apt")) -> list[AptSource]:
    """All enabled sources of the host: sources.list, sources.list.d/*.list and *.sources."""
    files = [apt_dir / "sources.list"]
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    sources = []
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text()
        parse = parse_deb822_sources if path.suffix == ".sources" else parse_one_line_sources
        sources += parse(text)
    return sources


def debian_sources(sources: Sequence[AptSource], suite: str = SUITE) -> list[AptSource]:
    """The host's binary sources for ``suite`` (incl. -updates/-security): the guest's too.

    Third-party repositories (other suites) are left out; the guest should
    see the Debian archive exactly as the host does, nothing else.
    """
    picked = []
    for src in sources:
        suites = tuple(s for s in src.suites if s == suite or s.startswith(suite + "-")
                       or s.startswith(suite + "/"))
        if "deb" in src.types and suites:
            picked.append(AptSource(("deb",), src.uris, suites, src.components, src.options))
    return picked


def primary_mirror(sources: Sequence[AptSource], suite: str = SUITE) -> str:
    """The mirror URI that serves ``suite`` itself: what debootstrap installs from."""
    for src in sources:
        if suite in src.suites and src.uris:
            return src.uris[0]
    raise AptSourcesError(
        f"no apt source for Debian '{suite}' found in /etc/apt/sources.list or "
        "/etc/apt/sources.list.d/ (*.list, *.sources); the lab builds its VM image "
        "with debootstrap from the host's own Debian mirror and has no other to use"
    )


def render_guest_sources(sources: Sequence[AptSource]) -> str:
    """deb822 ``debian.sources`` for the guest: same mirror(s), keys the guest has.

    A Signed-By pointing at a host file other than the Debian archive keyring
    is dropped; apt then falls back to the keys in /etc/apt/trusted.gpg.d,
    which debian-archive-keyring provides in the guest.
    """
    paras = []
    for src in sources:
        lines = [f"Types: {' '.join(src.types)}", f"URIs: {' '.join(src.uris)}",
                 f"Suites: {' '.join(src.suites)}"]
        if src.components:
            lines.append(f"Components: {' '.join(src.components)}")
        for key, value in src.options:
            if (key.lower() == "signed-by" and "\n" not in value
                    and not value.startswith(_GUEST_KEYRING_PREFIX)):
                continue
            lines.append(f"{key}: " + value.replace("\n", "\n "))
        paras.append("\n".join(lines))
    return "\n\n".join(paras) + "\n"
