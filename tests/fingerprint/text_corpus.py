"""Real English prose on every machine with Python: the standard library's docstrings.

``module_text(name)`` is the docstrings of one stdlib module (the module's, its classes',
functions' and methods'), longest first, each docstring used by one module only (across
the modules asked for in one process: ``os.path`` functions appear in posixpath and
genericpath alike, and a shared docstring would be a true match, not a false one).
Docstrings that share a passage with another module's are left out, so that a match
between two modules is a false match. Reproducible on one Python version, realistic on
all: varied vocabulary, code terms, numbers, the repetitions of real documentation.
"""

from __future__ import annotations

import importlib
import inspect
import random
import types
import warnings
from functools import cache

from dlpd.fingerprint.text import normalize

# Passages this long (normalised characters) shared by two modules' docstrings are true
# copies (zipfile and tarfile share sentences): such docstrings are left out.
SHARED = 24

# Pairs on the same subject with the same vocabulary but different text.
SAME_TOPIC = (
    ("zipfile", "tarfile"),
    ("json", "pickle"),
    ("http.client", "urllib.request"),
    ("threading", "multiprocessing.pool"),
    ("argparse", "optparse"),
    ("ftplib", "smtplib"),
)

MODULES = (
    "argparse", "asyncio.events", "asyncio.streams", "base64", "bz2", "calendar", "cmd",
    "codecs", "collections", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "email.message", "enum", "fileinput", "fractions",
    "ftplib", "functools", "getopt", "gettext", "gzip", "hashlib", "heapq", "hmac",
    "http.client", "http.server", "imaplib", "inspect", "ipaddress", "itertools", "json",
    "logging", "lzma", "mailbox", "multiprocessing.pool", "optparse", "pathlib", "pickle",
    "pkgutil", "platform", "poplib", "pprint", "queue", "random", "re", "sched", "secrets",
    "selectors", "shelve", "shlex", "shutil", "smtplib", "socket", "socketserver",
    "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
    "timeit", "tokenize", "traceback", "typing", "unittest.case", "urllib.parse",
    "urllib.request", "uuid", "warnings", "weakref", "xml.dom.minidom", "zipfile",
)

_seen: set[str] = set()
_owner: dict[str, str] = {}


def _docstrings(name: str) -> list[str]:
    with warnings.catch_warnings():  # typing.io and typing.re warn when touched
        warnings.simplefilter("ignore", DeprecationWarning)
        return _module_docstrings(importlib.import_module(name))


def _module_docstrings(module: types.ModuleType) -> list[str]:
    found = [inspect.getdoc(module) or ""]
    for _, member in sorted(vars(module).items()):
        if getattr(member, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(member):
            found.append(inspect.getdoc(member) or "")
            for _, attr in sorted(vars(member).items()):
                if inspect.isfunction(attr):
                    found.append(inspect.getdoc(attr) or "")
        elif inspect.isfunction(member):
            found.append(inspect.getdoc(member) or "")
    return found


@cache
def module_text(name: str, limit: int = 60_000) -> str:
    """One module's own docstrings (80 characters or more), longest first, up to ``limit``;
    none that shares a passage of ``SHARED`` normalised characters with another module's."""
    docs = [d for d, owner in _owned().items() if owner == name]
    docs.sort(key=lambda d: (-len(d), d))
    out = "\n\n".join(docs)
    return out[:limit]


@cache
def _owned() -> dict[str, str]:
    for other in MODULES:
        _claim(other)  # a fixed order: who owns a shared docstring does not depend on calls
    grams: dict[str, set[str]] = {}
    for doc, owner in _owner.items():
        norm = normalize(doc)
        for i in range(len(norm) - SHARED + 1):
            grams.setdefault(norm[i:i + SHARED], set()).add(owner)
    shared = {g for g, owners in grams.items() if len(owners) > 1}
    return {doc: owner for doc, owner in _owner.items()
            if not any(normalize(doc)[i:i + SHARED] in shared
                       for i in range(len(normalize(doc)) - SHARED + 1))}


def _claim(name: str) -> None:
    if name in _seen:
        return
    _seen.add(name)
    for doc in _docstrings(name):
        if len(doc) >= 80:
            _owner.setdefault(doc, name)


def corpus(min_chars: int = 4000) -> dict[str, str]:
    """Module name -> its text, for the modules with at least ``min_chars`` of prose."""
    return {n: t for n in MODULES if len(t := module_text(n)) >= min_chars}


def excerpts(text: str, size: int, count: int, rng: random.Random) -> list[str]:
    """``count`` excerpts of ``size`` characters at random offsets (cut mid-word, as a
    copy and paste does)."""
    return [text[(start := rng.randrange(0, len(text) - size)):start + size]
            for _ in range(count)]
