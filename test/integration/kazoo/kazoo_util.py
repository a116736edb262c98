"""What the kazoo scripts of this directory share: how a client connects,
bounded waits, and how a script fails (FAIL: <why>, exit status 1, at
once, whatever threads kazoo still runs)."""

import os
import time

from kazoo.client import KazooClient

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


def connect(hosts, listener=None, **options):
    """A started client of `hosts` (tried in order), and the list of the
    states it went through; `listener` also hears each state, from the
    start; `options` go to KazooClient (TLS's)."""
    states = []
    client = KazooClient(hosts=",".join(hosts), timeout=10.0,
                         randomize_hosts=False, **options)
    client.add_listener(states.append)
    if listener is not None:
        client.add_listener(listener)
    client.start(timeout=WAIT_SECONDS)
    return client, states
