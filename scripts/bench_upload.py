"""Drives scripts/bench-upload.sh: starts cadenza, makes an organiser, a competition
and a verified musician through the real API, then measures uploads. Standard
library only."""
import http.client, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, uuid

BIN, SIZE_MIB, RUNS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
WORK = tempfile.mkdtemp(prefix="cadenza-upload-bench-")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()
ENV = dict(os.environ, CADENZA__SERVER__PORT=str(PORT), CADENZA__SERVER__PUBLIC_URL=f"http://127.0.0.1:{PORT}",
           CADENZA__LOG__LEVEL="warn", CADENZA__JOBS__WORKERS="0",
           CADENZA__UPLOADS__MAX_BYTES=str((SIZE_MIB + 10) * 1024 * 1024),
           CADENZA__AUTH__ARGON2_MEMORY_KIB="1024", CADENZA__AUTH__ARGON2_ITERATIONS="1")


def call(method, path, body=None, token=None, headers=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
    h = {"Accept": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        raw = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    c.request(method, path, body=raw, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data and data[:1] in b"{[" else data)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def outbox_token(to, path):
    box = os.path.join(WORK, "data", "outbox")
    for _ in range(100):
        for name in sorted(os.listdir(box)) if os.path.isdir(box) else []:
            raw = open(os.path.join(box, name), encoding="utf8", errors="replace").read()
            text = raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
            if to in raw:
                m = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]+)", text)
                if m:
                    return m.group(1)
        time.sleep(0.1)
    raise SystemExit(f"no email to {to}")


def make_wav(path, size):
    data = size - 44
    with open(path, "wb") as f:
        f.write(b"RIFF" + (36 + data).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little"))
        f.write((1).to_bytes(2, "little") + (2).to_bytes(2, "little") + (44100).to_bytes(4, "little"))
        f.write((176400).to_bytes(4, "little") + (4).to_bytes(2, "little") + (16).to_bytes(2, "little"))
        f.write(b"data" + data.to_bytes(4, "little"))
        block = os.urandom(1 << 20)
        left = data
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)


server = subprocess.Popen([BIN, "serve"], cwd=WORK, env=ENV)
try:
    for _ in range(300):
        try:
            if call("GET", "/readyz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    out = subprocess.run([BIN, "admin", "create-organiser", "--email", "org@bench.example"], cwd=WORK, env=ENV,
                         capture_output=True, text=True, check=True).stdout
    token = re.search(r"token=(\S+)", out).group(1)
    assert call("POST", "/api/v1/account/password-setup", {"token": token, "password": "baton and score 42"})[0] == 204
    org = call("POST", "/api/v1/auth/sign-in", {"email": "org@bench.example", "password": "baton and score 42"})[1]["access_token"]
    s, comp = call("POST", "/api/v1/competitions", {"title": "Bench", "slug": "bench", "entries_per_musician": 50}, org)
    assert s == 201, comp
    call("POST", f"/api/v1/competitions/{comp['id']}/publish", token=org)
    assert call("POST", "/api/v1/auth/register", {"email": "mu@bench.example", "password": "violin sunrise 1987",
                "stage_name": "Bench", "date_of_birth": "1990-01-01", "country": "CN", "language": "en"})[0] == 202
    # Mail is sent by jobs; with no workers, run them through the admin command.
    subprocess.run([BIN, "admin", "run-jobs"], cwd=WORK, env=ENV, capture_output=True)
    vt = outbox_token("mu@bench.example", "/verify-email")
    assert call("POST", "/api/v1/auth/verify-email", {"token": vt})[0] == 204
    mu = call("POST", "/api/v1/auth/sign-in", {"email": "mu@bench.example", "password": "violin sunrise 1987"})[1]["access_token"]

    src = os.path.join(WORK, "upload.wav")
    size = SIZE_MIB * 1024 * 1024
    make_wav(src, size)
    upload_secs, cp_secs, cp_sync_secs, hash_secs, rss_growth = [], [], [], [], []
    for i in range(RUNS):
        s, e = call("POST", f"/api/v1/competitions/{comp['id']}/entries",
                    {"title": f"Run {i}", "originality_declared": True}, mu)
        assert s == 201, e
        # Different bytes each run (the same file twice is refused as a duplicate).
        with open(src, "r+b") as f:
            f.seek(100)
            f.write(uuid.uuid4().bytes)
        subprocess.run(["sync"])
        base = rss_kib(server.pid)
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], rss_kib(server.pid))
                time.sleep(0.02)

        t = threading.Thread(target=sample)
        t.start()
        start = time.monotonic()
        # curl as the client: Python's http.client sends bodies in 8 KiB writes and
        # would be what is measured.
        status = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-T", src,
             "-H", f"Authorization: Bearer {mu}", "-H", f"Idempotency-Key: {uuid.uuid4()}",
             "-H", "Content-Type: application/octet-stream", "-H", "Expect:",
             f"http://127.0.0.1:{PORT}/api/v1/entries/{e['id']}/audio?file_name=run{i}.wav"],
            capture_output=True, text=True).stdout
        upload_secs.append(time.monotonic() - start)
        stop.set()
        t.join()
        assert status == "201", status
        rss_growth.append((peak[0] - base) / 1024)
        dst = os.path.join(WORK, "data", f"cp-{i}.wav")
        subprocess.run(["sync"])
        start = time.monotonic()
        subprocess.run(["cp", src, dst], check=True)
        cp_secs.append(time.monotonic() - start)
        os.remove(dst)
        # cp then fsync: the durability an acknowledged upload has.
        subprocess.run(["sync"])
        start = time.monotonic()
        subprocess.run(["cp", src, dst], check=True)
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        cp_sync_secs.append(time.monotonic() - start)
        os.remove(dst)
        # The floor: SHA-256 of the same bytes (OpenSSL, from the page cache).
        import hashlib
        start = time.monotonic()
        h = hashlib.sha256()
        with open(src, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    break
                h.update(b)
        hash_secs.append(time.monotonic() - start)
    up, cp = statistics.median(upload_secs), statistics.median(cp_secs)
    print(f"file: {SIZE_MIB} MiB WAV, {RUNS} runs (medians)")
    print(f"upload through cadenza: {up:.2f} s ({SIZE_MIB / up:.0f} MiB/s)")
    print(f"cp of the same file:    {cp:.2f} s ({SIZE_MIB / cp:.0f} MiB/s)")
    cps, hs = statistics.median(cp_sync_secs), statistics.median(hash_secs)
    print(f"cp + fsync:             {cps:.2f} s ({SIZE_MIB / cps:.0f} MiB/s)")
    print(f"SHA-256 alone (OpenSSL): {hs:.2f} s ({SIZE_MIB / hs:.0f} MiB/s)")
    print(f"throughput ratio vs cp: {cp / up:.2f}; vs cp + fsync: {cps / up:.2f}")
    floor = max(hs, cps)
    verdict = "met" if up <= 1.25 * floor else "not met"
    print(f"upload / max(SHA-256, cp + fsync) = {up / floor:.2f} (target <= 1.25: {verdict})")
    print(f"server RSS growth during upload: max {max(rss_growth):.1f} MiB (runs: {', '.join(f'{g:.1f}' for g in rss_growth)})")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(WORK, ignore_errors=True)
