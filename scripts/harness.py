"""Shared helpers for the reliability harnesses (scripts/crash-test,
scripts/fault-test): run the real `outbox` binary and its Zuora mock."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def binary():
    """The outbox binary: $OUTBOX_BINARY, else the newest of the release and
    debug builds."""
    if os.environ.get("OUTBOX_BINARY"):
        return os.environ["OUTBOX_BINARY"]
    builds = [os.path.join(ROOT, ".build", config, "outbox") for config in ("release", "debug")]
    builds = [path for path in builds if os.access(path, os.X_OK)]
    if not builds:
        sys.exit("no outbox binary: run `swift build` (or set OUTBOX_BINARY)")
    return max(builds, key=os.path.getmtime)


def say(text):
    print(text, flush=True)


class Mock:
    """`outbox mock-zuora` on a free loopback port, recording what it accepts."""

    def __init__(self, workdir, *flags):
        self.record = os.path.join(workdir, "accepted.ndjson")
        self.process = subprocess.Popen(
            [binary(), "mock-zuora", "--port", "0", "--log-level", "error", "--record", self.record, *flags],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            sys.exit("the mock did not start")

    def env(self, **extra):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ZUORA_BASE_URL": self.base_url,
               "ZUORA_CLIENT_ID": "mock-client-id", "ZUORA_CLIENT_SECRET": "mock-client-secret"}
        env.update(extra)
        return env

    def stats(self):
        with urllib.request.urlopen(self.base_url + "/_mock/stats", timeout=10) as response:
            return json.load(response)

    def accepted_ids(self):
        """EventId -> times accepted, from the mock's record."""
        counts = {}
        if os.path.exists(self.record):
            with open(self.record) as handle:
                for line in handle:
                    event = json.loads(json.loads(line)["event"])
                    counts[event["EventId"]] = counts.get(event["EventId"], 0) + 1
        return counts

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)


def events(prefix, count, meter_hint=""):
    """NDJSON of `count` events with EventIds `prefix-N`."""
    return "".join(
        json.dumps({"EventId": f"{prefix}-{n}", "CustomerId": f"C-{n % 500}", "UsageIdentifier": "api-calls",
                    "UsageDate": "2026-11-29T10:00:00Z", "Quantity": n % 13, "note": meter_hint},
                   separators=(",", ":")) + "\n"
        for n in range(count))


def outbox(*arguments, env=None, check=True, timeout=600):
    # No terminal on stdin, as under cron: a destructive command never stops
    # to ask for --yes here.
    result = subprocess.run([binary(), *arguments], env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        sys.exit(f"outbox {' '.join(arguments)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def ids_in_database(db, prefix):
    """How many stored events carry an EventId starting with `prefix-`."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return connection.execute(
            "SELECT count(*) FROM outbox_log WHERE json_extract(CAST(body AS TEXT), '$.EventId') LIKE ?",
            (prefix + "-%",)).fetchone()[0]
    finally:
        connection.close()


def workdir(name):
    return tempfile.mkdtemp(prefix=f"outbox-{name}-")
