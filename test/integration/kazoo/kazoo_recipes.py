#!/usr/bin/python3
"""kazoo's own recipes against a synod ensemble, through a kill -9.

Usage: kazoo_recipes.py HOST:PORT,HOST:PORT,... PID

The addresses are the peers' ZooKeeper ports; PID is the process of the
first one. Client `a` is connected to that peer and holds a lock, leads an
election, keeps a TreeCache and owns an ephemeral; client `b`, on another
peer, contends for the lock and the leadership, raises a barrier and
drives the changes. The first peer is then killed (SIGKILL). `a` must
resume its session at another peer (same session id, never LOST), keep
the lock, the leadership and the ephemeral; its TreeCache must see every
change made after the kill, and it must wait at the barrier until `b`
removes it; then the lock and the leadership pass to `b` when `a` lets
them go, and closing `a` removes its ephemeral. Prints OK and exits 0, or
prints FAIL: <why> and exits 1. Every wait is bounded.
"""

import logging
import os
import signal
import sys
import threading
import time

from kazoo.client import KazooState
from kazoo.recipe.cache import TreeCache, TreeEvent

import kazoo_util
from kazoo_util import WAIT_SECONDS, fail, wait_until

STATE_TIMES = []  # (state, when) of both clients, for the resume time


def connect(hosts):
    # The resume time is read from when each state came.
    return kazoo_util.connect(
        hosts, lambda state: STATE_TIMES.append((state, time.monotonic())))


def main():
    logging.basicConfig(level=logging.DEBUG if os.environ.get("KAZOO_DEBUG") else logging.ERROR)
    hosts = sys.argv[1].split(",")
    victim = int(sys.argv[2])
    a, a_states = connect(hosts)
    b, b_states = connect(hosts[1:] + hosts[:1])
    a_session = a.client_id[0]

    # An ephemeral of a's.
    a.create("/eph-a", b"a", ephemeral=True)

    # The lock: a holds it, b queues.
    a_lock = a.Lock("/lock", "a")
    if not a_lock.acquire(timeout=WAIT_SECONDS):
        fail("a could not take the free lock")
    b_lock = b.Lock("/lock", "b")
    b_has_lock = threading.Event()

    def b_take_lock():
        if b_lock.acquire(timeout=3 * WAIT_SECONDS):
            b_has_lock.set()
    threading.Thread(target=b_take_lock, daemon=True).start()
    wait_until(lambda: b_lock.contenders() == ["a", "b"], "b to queue for the lock")

    # The election: a leads, b waits.
    a_leads, a_done, b_leads = threading.Event(), threading.Event(), threading.Event()

    def a_lead():
        a_leads.set()
        a_done.wait(3 * WAIT_SECONDS)
    a_election = a.Election("/election", "a")
    threading.Thread(target=a_election.run, args=(a_lead,), daemon=True).start()
    wait_until(a_leads.is_set, "a to lead")
    b_election = b.Election("/election", "b")
    threading.Thread(target=b_election.run, args=(b_leads.set,),
                     daemon=True).start()
    wait_until(lambda: b_election.contenders() == ["a", "b"],
               "b to stand for election")

    # The barrier: b raises it.
    b.Barrier("/barrier").create()

    # The TreeCache, on a.
    b.ensure_path("/tree")
    b.create("/tree/x", b"1")
    cache = TreeCache(a, "/tree")
    initialized = threading.Event()
    cache.listen(lambda e: e.event_type == TreeEvent.INITIALIZED and initialized.set())
    cache.start()
    wait_until(initialized.is_set, "the TreeCache to initialize")
    def cache_has(path, data):
        node = cache.get_data(path)
        return (node is None and data is None) or (node is not None and node.data == data)
    wait_until(lambda: cache_has("/tree/x", b"1"), "the TreeCache to hold /tree/x")

    # The kill.
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: KazooState.SUSPENDED in a_states, "a to see its peer go")
    wait_until(lambda: a.state == KazooState.CONNECTED and
               a_states[-1] == KazooState.CONNECTED, "a to resume its session")
    if KazooState.LOST in a_states:
        fail("a's session was lost: " + repr(a_states))
    if a.client_id[0] != a_session:
        fail("a resumed another session: %x, not %x" % (a.client_id[0], a_session))
    resumed_at = [t for s, t in STATE_TIMES if s == KazooState.CONNECTED][-1]
    print("a resumed its session %.0f ms after the kill" %
          ((resumed_at - killed_at) * 1000), flush=True)

    # a kept its lock, its leadership and its ephemeral.
    if b_lock.contenders() != ["a", "b"] or b_has_lock.is_set():
        fail("the lock moved: " + repr(b_lock.contenders()))
    if b_election.contenders() != ["a", "b"] or b_leads.is_set():
        fail("the leadership moved: " + repr(b_election.contenders()))
    stat = b.exists("/eph-a")
    if stat is None or stat.ephemeralOwner != a_session:
        fail("a's ephemeral went: " + repr(stat))

    # The TreeCache sees what changes after the kill.
    b.set("/tree/x", b"2")
    b.create("/tree/y", b"3")
    b.create("/tree/y/z", b"4")
    b.create("/tree/gone", b"5")
    b.delete("/tree/gone")
    wait_until(lambda: cache_has("/tree/x", b"2") and cache_has("/tree/y", b"3")
               and cache_has("/tree/y/z", b"4") and cache_has("/tree/gone", None)
               and sorted(cache.get_children("/tree") or []) == ["x", "y"],
               "the TreeCache to see the changes made after the kill")

    # a waits at the barrier on its resumed session; it falls; a passes.
    # (The wait begins after the kill: kazoo, unlike ZooKeeper's Java and C
    # clients, does not set its plain watches again when it reconnects, so
    # a wait begun before would miss the fall with ZooKeeper too.)
    passed = []
    threading.Thread(target=lambda: passed.append(
        a.Barrier("/barrier").wait(3 * WAIT_SECONDS)), daemon=True).start()
    time.sleep(0.5)
    if passed:
        fail("a passed a standing barrier")
    b.Barrier("/barrier").remove()
    wait_until(lambda: passed == [True], "a to pass the barrier")

    # a lets go: the lock and the leadership pass to b.
    a_lock.release()
    wait_until(b_has_lock.is_set, "b to take the lock")
    a_done.set()
    wait_until(b_leads.is_set, "b to lead")

    # Closing a's session removes its ephemeral at once.
    cache.close()
    a.stop()
    a.close()
    wait_until(lambda: b.exists("/eph-a") is None, "a's ephemeral to go with its session")
    if KazooState.LOST in b_states:
        fail("b's session was lost: " + repr(b_states))
    b.stop()
    b.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
