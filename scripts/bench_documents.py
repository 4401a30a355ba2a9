"""Time the upload checks (services/documents.check) on good files and bombs: prints JSON lines.

    .venv/bin/python scripts/bench_documents.py [--repeat 3]

Each line: the case, the file's size, whether it was accepted or refused, the best time of
``--repeat`` runs in milliseconds, and the process's peak resident memory so far (MB).
The files are those of the tests (tests/finportal/documents/files.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    """Check each case ``--repeat`` times and print its best time."""
    from finportal.services import documents
    from finportal.services.errors import ValidationFailed
    from tests.finportal.documents import files

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    cases = {
        "pdf, 50 pages": files.pdf(50),
        "png, 40x30": files.png(),
        "xlsx (openpyxl)": files.xlsx(),
        "renamed program": files.windows_program(),
        "png, 48 megapixels": files.png(8000, 6000),
        "png header, 1.6 gigapixels": files.png_header_only(40_000, 40_000),
        "pdf bomb, 80 MB unpacked": files.pdf_bomb(80),
        "xlsx zip bomb, 8 MB unpacked": files.xlsx_bomb(8),
        "xlsx zip bomb, 60 MB unpacked": files.xlsx_bomb(60),
    }
    for name, content in cases.items():
        best = float("inf")
        answer = ""
        for _ in range(repeat):
            start = time.perf_counter()
            try:
                documents.check(documents.Upload(name, content))
                answer = "accepted"
            except ValidationFailed:
                answer = "refused"
            best = min(best, time.perf_counter() - start)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            json.dumps(
                {
                    "case": name,
                    "bytes": len(content),
                    "answer": answer,
                    "best_ms": round(best * 1000, 1),
                    "peak_rss_mb": round(peak),
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
