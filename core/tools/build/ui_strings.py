"""UI strings as a lexicon: Django's translated interface messages (.po files) and CLDR's
display names of countries, languages, months, ... (through the pinned Babel wheel).

    django_pairs(django_wheel, "de", vocab)           # ("password", "Passwort"), ...
    cldr_pairs(babel_wheel, ["de", "zh"], work)        # ({lang: [(english, native)]}, version)
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.tools.build.lexicons import CLDR_LOCALE, CLDR_TABLES, clean_word, english_word


# --------------------------------------------------------------------------------- Django
def _po_entries(text: str) -> Iterator[tuple[str, str]]:
    # Minimal .po reader: singular, non-fuzzy msgid/msgstr pairs with continuation lines.
    for block in re.split(r"\n\s*\n", text):
        if "#, fuzzy" in block or "msgid_plural" in block:
            continue
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgstr|msgctxt) "(.*)"$', line)
            if m:
                key = m.group(1)
                fields[key] = m.group(2)
            elif key and line.startswith('"') and line.endswith('"'):
                fields[key] += line[1:-1]
        if fields.get("msgid") and fields.get("msgstr"):
            yield fields["msgid"], fields["msgstr"]


def django_pairs(wheel: Path, locale: str, vocab: set[str]) -> Iterator[tuple[str, str]]:
    """Single-word UI strings of Django and its contrib apps for one locale.

    Args:
        wheel: the Django wheel.
        locale: Django locale folder name, e.g. "ko", "zh_Hans".
        vocab: lower-case English words wanted.
    Returns:
        Iterator of (english msgid, translated msgstr) in file order.
    """
    suffix = f"/locale/{locale}/LC_MESSAGES/"
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if suffix in n and n.endswith(".po"))
        for name in names:
            for msgid, msgstr in _po_entries(zf.read(name).decode("utf-8")):
                en = english_word(msgid)
                if en in vocab and "\\" not in msgstr and "%" not in msgstr:
                    if word := clean_word(msgstr):
                        yield en, word


# ----------------------------------------------------------------------------------- CLDR
_CLDR_SCRIPT = r"""
import json, sys
from babel import Locale
tables, locales = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def walk(a, b, out):
    for k in a:
        try:
            va, vb = a[k], b[k]
        except (KeyError, TypeError):
            continue
        if isinstance(va, str) and isinstance(vb, str):
            out.append([va, vb])
        elif hasattr(va, "keys") and hasattr(vb, "keys"):
            walk(va, vb, out)
en = Locale.parse("en")
res = {}
for lang, loc in locales.items():
    other, out = Locale.parse(loc), []
    for t in tables:
        walk(en._data.get(t, {}), other._data.get(t, {}), out)
    res[lang] = out
from babel.core import get_cldr_version
res["__cldr_version__"] = get_cldr_version()
print(json.dumps(res, ensure_ascii=False, sort_keys=True))
"""


def cldr_pairs(wheel: Path, langs: Iterable[str],
               dest: Path) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """English vs native CLDR display names (countries, languages, months, ...) per language.

    Babel runs from the downloaded wheel in a child process, so the CLDR release is the
    pinned one whatever Babel the environment has.

    Args:
        wheel: the Babel wheel.
        langs: our language codes.
        dest: work folder to unpack the wheel into.
    Returns:
        (lang -> [(english display name, native display name), ...], CLDR version); names
        may be phrases.
    """
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    locales = {lang: CLDR_LOCALE.get(lang, lang) for lang in langs}
    env = dict(os.environ, PYTHONPATH=str(dest))
    proc = subprocess.run([sys.executable, "-c", _CLDR_SCRIPT, json.dumps(CLDR_TABLES),
                           json.dumps(locales)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"reading CLDR through Babel failed: {proc.stderr[-2000:]}")
    res = json.loads(proc.stdout)
    version = res.pop("__cldr_version__")
    return {lang: [tuple(p) for p in pairs] for lang, pairs in res.items()}, version
