#!/usr/bin/python3
"""kazoo over TLS with x509 identities against a synod ensemble.

Usage: kazoo_tls.py HOST:PORT,HOST:PORT,... PID CA ALICE BOB

The addresses are the peers' ZooKeeper ports, serving TLS; PID is the
process of the first one; CA is the CA's certificate; ALICE and BOB are
paths without extension of two clients' certificates (.pem) and keys
(.key), subjects CN=alice and CN=bob. Alice, connected to the first peer,
creates a node only her certificate may read (ACL x509:CN=alice) and an
ephemeral; Bob may not read the first (NoAuth) but reads the second; a
client without TLS does not connect at all. Then the first peer is killed
(SIGKILL): Alice must resume her session at another peer over TLS (same
session id, never LOST), keep her ephemeral and read her node again, her
identity proven anew by the new connection's certificate. Prints OK and
exits 0, or FAIL: <why> and exits 1. Every wait is bounded.
"""

import logging
import os
import signal
import sys

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import NoAuthError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.security import make_acl

import kazoo_util
from kazoo_util import fail, wait_until


def connect(hosts, ca, who):
    return kazoo_util.connect(hosts, use_ssl=True, ca=ca,
                              certfile=who + ".pem", keyfile=who + ".key")


def main():
    logging.basicConfig(level=logging.DEBUG if os.environ.get("KAZOO_DEBUG") else logging.CRITICAL)
    hosts = sys.argv[1].split(",")
    victim = int(sys.argv[2])
    ca, alice_files, bob_files = sys.argv[3:6]

    alice, alice_states = connect(hosts, ca, alice_files)
    bob, _ = connect(hosts[1:] + hosts[:1], ca, bob_files)
    session = alice.client_id[0]
    alice.create("/alice-only", b"hers",
                 acl=[make_acl("x509", "CN=alice", all=True)])
    alice.create("/eph-alice", b"open", ephemeral=True)
    if alice.get("/alice-only")[0] != b"hers":
        fail("alice cannot read her own node")
    try:
        bob.get("/alice-only")
        fail("bob read alice's node")
    except NoAuthError:
        pass
    if bob.get("/eph-alice")[0] != b"open":
        fail("bob cannot read an open node")

    # Without TLS nothing is answered: the handshake never completes.
    plain = KazooClient(hosts=hosts[1], timeout=2.0)
    try:
        plain.start(timeout=4)
        fail("a client without TLS connected")
    except KazooTimeoutError:
        pass
    finally:
        plain.stop()
        plain.close()

    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: KazooState.SUSPENDED in alice_states,
               "alice to notice the kill")
    wait_until(lambda: alice_states[-1] == KazooState.CONNECTED,
               "alice to resume at another peer")
    if KazooState.LOST in alice_states:
        fail("alice's session was lost: " + str(alice_states))
    if alice.client_id[0] != session:
        fail("alice resumed with another session")
    if alice.get("/alice-only")[0] != b"hers":
        fail("alice cannot read her node after the move")
    if not bob.exists("/eph-alice"):
        fail("alice's ephemeral is gone after the move")

    alice.stop()
    alice.close()
    wait_until(lambda: not bob.exists("/eph-alice"),
               "alice's ephemeral to go with her session")
    bob.stop()
    bob.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
