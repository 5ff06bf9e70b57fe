"""Exclude predicates over absolute paths. Pure.

Patterns are shell globs over the whole path where ``**`` may cross directories
(``**/.cache/**``) and ``*`` may not (``/data/*/tmp``), as users of rsync and gitignore
expect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _glob_to_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


class PathFilter:
    """``is_excluded(path)`` for files, ``is_pruned(dir)`` for directories not to enter."""

    def __init__(self, patterns: Iterable[str], exact: Iterable[str] = ()) -> None:
        regexes = []
        for p in patterns:
            # A relative pattern matches at any depth, like gitignore's.
            body = _glob_to_regex(p if p.startswith("/") else "**/" + p)
            regexes.append(body)
        self._regex = re.compile("(?:" + "|".join(regexes) + r")\Z") if regexes else None
        self._exact = frozenset(exact)

    def is_excluded(self, path: str) -> bool:
        if path in self._exact:
            return True
        return bool(self._regex and self._regex.match(path))

    def is_pruned(self, directory: str) -> bool:
        # "**/.cache/**" must prune ".cache" itself: test the directory as a container.
        return self.is_excluded(directory) or self.is_excluded(directory.rstrip("/") + "/")
