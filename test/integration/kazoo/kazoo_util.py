"""What the kazoo scripts of this directory share: bounded waits, and how
a script fails (FAIL: <why>, exit status 1, at once, whatever threads
kazoo still runs)."""

import os
import time

WAIT_SECONDS = 30


def fail(why):
    print("FAIL: " + why, flush=True)
    os._exit(1)


def wait_until(done, what, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(0.02)
    fail("timed out waiting for " + what)
