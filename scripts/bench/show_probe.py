#!/usr/bin/env python3
"""The presenter screen during a vote burst: follow a voting round's show stream (SSE)
for SECS seconds and print how many `show` events came, the longest wait between two,
and the last total the screen showed (issue 26: the screen stays live while thousands
of phones vote).

Usage: show_probe.py BASE_URL ROUND_ID SECS"""
import json
import socket
import sys
import time
import urllib.parse

base, round_id, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
u = urllib.parse.urlparse(base)
s = socket.create_connection((u.hostname, u.port), timeout=10)
s.sendall(
    f"GET /api/v1/voting-rounds/{round_id}/show/stream HTTP/1.1\r\nHost: {u.hostname}\r\n"
    "Accept: text/event-stream\r\n\r\n".encode()
)
buf, events, totals, gaps, last = b"", 0, [], [], None
end = time.monotonic() + secs
s.settimeout(1.0)
while time.monotonic() < end:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    if not chunk:
        break
    buf += chunk
    while b"\n\n" in buf:
        block, buf = buf.split(b"\n\n", 1)
        text = block.decode(errors="replace")
        if "event: show" not in text:
            continue
        now = time.monotonic()
        if last is not None:
            gaps.append(now - last)
        last = now
        events += 1
        for line in text.splitlines():
            if line.startswith("data: "):
                try:
                    totals.append(json.loads(line[6:]).get("total_votes"))
                except ValueError:
                    pass
status = "ok" if events > 1 else "no events"
print(
    f"SHOW events={events} max_gap_ms={round(max(gaps) * 1000) if gaps else -1} "
    f"last_total={totals[-1] if totals else '-'} {status}"
)
