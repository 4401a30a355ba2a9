"""Fill English msgstrs of the catalogue from a JSON file {msgid: English} and clear fuzzy marks.

Usage: .venv/bin/python scripts/translate.py TRANSLATIONS.json
Then compile: .venv/bin/pybabel compile -d finportal/translations -l en
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path("finportal/translations/en/LC_MESSAGES/messages.po")


def main(path: str) -> int:
    """Apply the translations; list the msgids still without English."""
    wanted = json.loads(Path(path).read_text(encoding="utf-8"))
    with PO.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.id in wanted:
            message.string = wanted[message.id]
            message.flags.discard("fuzzy")
    with PO.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False)
    missing = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
