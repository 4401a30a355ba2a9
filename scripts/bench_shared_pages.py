"""Print the CPU of answering a shared page from the page cache with a reader's own values in
its slots (docs/BENCHMARKS.md): kept whole — opened, filled, compressed again (stop 26) —
against kept in pieces and joined (stop 27), for a client that accepts gzip.

    FINPORTAL_DATABASE_URL=... .venv/bin/python scripts/bench_shared_pages.py \\
        scale-advisor-01 /advisor/dashboard /advisor/

Signs in as USER (``flask scale-data``'s password), renders each URL, puts the slots'
placeholders back where the reader's label and form token stand (the page as the cache keeps
it), and times both ways ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import gzip
import re
import time

from finportal import create_app, page_cache
from finportal.crawl import signed_in


def main() -> None:
    """Time both ways of answering each page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client, _home = signed_in(app, args.user)
    for url in args.urls:
        client.get(url)
        with app.test_request_context(url, headers={"Accept-Encoding": "gzip"}):
            page = client.get(url).get_data()
            label = re.search(rb'class="who"[^>]*>([^<]+)<', page)
            token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
            shaped = page
            for found, slot in ((label, "who"), (token, "csrf")):
                if found is not None:
                    shaped = shaped.replace(found.group(1), page_cache.placeholder(slot).encode())
            slots = {"who": (label.group(1) if label else b"").decode(), "csrf": "token"}
            whole = gzip.compress(shaped, compresslevel=page_cache.GZIP_LEVEL, mtime=0)
            pieces = page_cache._pieces(shaped)
            started = time.process_time()
            for _ in range(args.repeat):
                opened = page_cache._filled(gzip.decompress(whole), slots)
                gzip.compress(opened, compresslevel=1, mtime=0)
            before = (time.process_time() - started) * 1000 / args.repeat
            started = time.process_time()
            for _ in range(args.repeat):
                page_cache._joined(pieces, slots, gzipped=True)
            after = (time.process_time() - started) * 1000 / args.repeat
        print(
            f"{url}: {len(shaped) / 1024:.0f} KB; kept {len(whole) / 1024:.0f} KB whole, "
            f"{len(pieces) / 1024:.0f} KB in pieces; CPU per answer "
            f"{before:.3f} ms whole, {after:.3f} ms in pieces"
        )


if __name__ == "__main__":
    main()
