#!/usr/bin/env python3
"""Sign-ins against sesame, continuously, as background load for the
sesame-login row of scripts/bench.sh.

Usage: login_load.py [--inflight K] PORT USER PASSWORD LOG

K clients (default 4), each a thread with its own keep-alive connection,
sign in one after the other as new browsers (GET the form, POST it:
scripts/bench/login_client.py), so K sign-ins are always in flight: with
fewer hashing threads than K, sesame's hashing pool never runs dry. Every
finished sign-in appends a line to LOG:

    END_TIME STATUS POST_SECONDS

END_TIME is the wall clock (time.time(), as `date +%s.%N`) when the POST's
answer arrived, so the bench can count the sign-ins that finished while wrk
ran. Prints "ready" once the first sign-in has finished. On SIGTERM or SIGINT
no client starts another sign-in; those in flight finish (so the hashing pool
is idle again when this exits), then it prints "done SIGN_INS" and exits 0.
A failed request (not an HTTP answer) is logged with status 0 and the client
carries on over a new connection.
"""

import argparse
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from login_client import SignIn, SignInError  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inflight", type=int, default=4)
    ap.add_argument("port", type=int)
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("log")
    args = ap.parse_args()
    if args.inflight < 1:
        ap.error("--inflight must be at least 1")

    stop = threading.Event()
    ready = threading.Event()
    lock = threading.Lock()
    count = [0]
    log = open(args.log, "a", buffering=1)

    def client():
        c = SignIn(args.port)
        while not stop.is_set():
            try:
                status, seconds = c.sign_in(args.user, args.password)
            except (OSError, SignInError) as e:
                status, seconds = 0, 0.0
                c.close()
                print("login_load: %s" % e, file=sys.stderr, flush=True)
                time.sleep(0.1)
            with lock:
                log.write("%.6f %d %.6f\n" % (time.time(), status, seconds))
                count[0] += 1
            ready.set()
        c.close()

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.inflight)]
    for t in threads:
        t.start()
    while not ready.is_set() and not stop.is_set():
        ready.wait(0.1)
    if ready.is_set():
        print("ready", flush=True)
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(0.1)
    log.close()
    print("done %d" % count[0], flush=True)


if __name__ == "__main__":
    main()
