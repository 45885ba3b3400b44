#!/usr/bin/env python3
"""Runs sesame's end-to-end tests: python3 tests/e2e/run.py --binary build/sesame

Discovers functions named test_* in tests/e2e/test_*.py and runs each in its
own process group (so a timeout or a crash kills sesame and the upstreams it
started too), a few at a time. Prints one line per test and ends with
"e2e: N passed, N failed"; exits 1 if any failed. A test that raises
harness.Skip (it cannot run here: not root, a tool missing) is listed as
skipped with its reason, counted neither as passed nor as failed.
"""

import argparse
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TIMEOUT = 30


def discover(pattern):
    sys.path.insert(0, HERE)
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        module = importlib.import_module(fname[:-3])
        fns = [f for n, f in vars(module).items()
               if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == module.__name__]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in fns:
            if pattern and pattern not in f.__name__ and pattern not in module.__name__:
                continue
            tests.append((module.__name__, f.__name__, getattr(f, "timeout", DEFAULT_TIMEOUT),
                          getattr(f, "heavy", False)))
    return tests


def child(args):
    """Runs one test in this process and writes its result as JSON."""
    sys.path.insert(0, HERE)
    import harness

    module_name, name = args.child.split("::")
    fn = getattr(importlib.import_module(module_name), name)
    env = harness.Env(args.binary, args.workdir, args.certs)
    result = {"ok": True, "reason": "", "traceback": "", "stderr": [], "skipped": ""}
    try:
        fn(env)
        dead = env.died()
        if dead:
            raise AssertionError("sesame exited during the test with status %s" % dead[0].proc.returncode)
    except harness.Skip as e:
        result["skipped"] = str(e)
    except BaseException as e:  # report everything, including KeyboardInterrupt
        result["ok"] = False
        result["reason"] = ("%s: %s" % (type(e).__name__, e)).strip().splitlines()[0][:300]
        result["traceback"] = traceback.format_exc()
    finally:
        for s in env.sesames:
            status = s.stop()
            if s.expect_exit or status is None:
                continue
            problem = None
            if status < 0 and -status not in (signal.SIGTERM, signal.SIGKILL):
                problem = "sesame died from signal %d" % -status
            elif status > 0:
                problem = "sesame exited with status %d" % status
            if problem:
                result["reason"] = problem + ("; " + result["reason"] if not result["ok"] else "")
                result["ok"] = False
        env.cleanup()
        result["stderr"] = [(s.config_path, s.stderr_tail()) for s in env.sesames]
        with open(args.result, "w") as f:
            json.dump(result, f)


class Runner:
    def __init__(self, args, tests):
        self.args = args
        # Heavy tests first: they run one at a time, so left for the end they
        # would run alone while the other slots sit idle.
        self.pending = sorted(tests, key=lambda t: not t[3])
        self.running_heavy = 0
        self.lock = threading.Condition()
        self.passed = 0
        self.failed = []
        self.skipped = []  # counted neither as passed nor as failed
        self.root = tempfile.mkdtemp(prefix="sesame-e2e-")
        self.groups = set()  # process groups of running tests
        self.certs = os.path.join(self.root, "certs")
        self.jobs = max(1, args.jobs)

    def next_test(self):
        """Heavy tests (GiB streams) run one at a time; others fill the slots."""
        with self.lock:
            while self.pending:
                for i, t in enumerate(self.pending):
                    if not t[3] or self.running_heavy == 0:
                        self.running_heavy += t[3]
                        return self.pending.pop(i)
                self.lock.wait()
            return None

    def worker(self, slot):
        while True:
            t = self.next_test()
            if t is None:
                return
            try:
                self.run_one(t, slot)
            finally:
                with self.lock:
                    self.running_heavy -= t[3]
                    self.lock.notify_all()

    def run_one(self, t, slot):
        module_name, name, limit, _ = t
        workdir = os.path.join(self.root, name)
        os.makedirs(workdir)
        result_path = os.path.join(workdir, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--binary", self.args.binary, "--child",
               "%s::%s" % (module_name, name), "--workdir", workdir, "--certs", self.certs,
               "--result", result_path]
        # The slot gives the test its own share of the port range (harness.free_port).
        environ = dict(os.environ, SESAME_E2E_SLOT=str(slot), SESAME_E2E_SLOTS=str(self.jobs))
        start = time.monotonic()
        with open(os.path.join(workdir, "output.txt"), "wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env=environ)
            with self.lock:
                self.groups.add(proc.pid)
            try:
                proc.wait(limit)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            try:  # whatever is left in the group: sesame, upstreams
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            with self.lock:
                self.groups.discard(proc.pid)
        elapsed = time.monotonic() - start
        result = None
        if os.path.exists(result_path):
            with open(result_path) as f:
                result = json.load(f)
        if timed_out:
            result = {"ok": False, "reason": "timed out after %ds" % limit, "traceback": "",
                      "stderr": (result or {}).get("stderr", [])}
            result["stderr"] += self.stderr_of(workdir)
        elif result is None:
            with open(os.path.join(workdir, "output.txt"), "rb") as f:
                output = f.read().decode("utf-8", "replace")
            result = {"ok": False, "reason": "test process exited with %s" % proc.returncode,
                      "traceback": output[-3000:], "stderr": self.stderr_of(workdir)}
        self.report(name, elapsed, result)

    @staticmethod
    def stderr_of(workdir):
        out = []
        for fname in sorted(os.listdir(workdir)):
            if fname.endswith(".toml.stderr"):
                with open(os.path.join(workdir, fname), "rb") as f:
                    lines = f.read().decode("utf-8", "replace").splitlines()
                out.append((fname, "\n".join(lines[-30:])))
        return out

    def report(self, name, elapsed, result):
        with self.lock:
            if result["ok"] and result.get("skipped"):
                self.skipped.append(name)
                print("SKIP %s: %s" % (name, result["skipped"]), flush=True)
                return
            if result["ok"]:
                self.passed += 1
                print("PASS %s (%.1fs)" % (name, elapsed), flush=True)
                return
            self.failed.append(name)
            lines = ["FAIL %s: %s" % (name, result["reason"])]
            if result["traceback"]:
                lines += ["    " + l for l in result["traceback"].rstrip().splitlines()]
            for path, tail in result["stderr"]:
                if tail:
                    lines.append("    --- sesame stderr (%s), last lines:" % os.path.basename(path))
                    lines += ["    | " + l for l in tail.splitlines()]
            print("\n".join(lines), flush=True)

    def run(self):
        sys.path.insert(0, HERE)
        import harness

        harness.ensure_certs(self.certs)
        threads = [threading.Thread(target=self.worker, args=(slot,), daemon=True)
                   for slot in range(self.jobs)]
        for th in threads:
            th.start()
        try:
            for th in threads:
                while th.is_alive():
                    th.join(0.5)
        except KeyboardInterrupt:
            self.abort()
            raise

    def abort(self):
        """Interrupted: kill every running test with what it started."""
        with self.lock:
            self.pending.clear()
            for pgid in self.groups:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.failed:
            print("e2e: logs of failed tests kept in %s" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, help="the sesame binary to test")
    ap.add_argument("-k", dest="pattern", default="", help="only tests whose name contains this")
    ap.add_argument("--jobs", type=int, default=2, help="tests run in parallel (default 2)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--certs", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    tests = discover(args.pattern)
    if args.list:
        for t in tests:
            print("%s::%s" % (t[0], t[1]))
        return 0
    if not os.access(args.binary, os.X_OK):
        print("e2e: %s is not an executable" % args.binary)
        print("e2e: 0 passed, %d failed" % len(tests))
        return 1
    runner = Runner(args, tests)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    try:
        runner.run()
    except KeyboardInterrupt:
        print("e2e: interrupted; tests not run count as failed")
        print("e2e: %d passed, %d failed" % (runner.passed, len(tests) - runner.passed))
        return 1
    if runner.skipped:
        print("e2e: %d skipped on this machine: %s" % (len(runner.skipped), ", ".join(runner.skipped)))
    print("e2e: %d passed, %d failed" % (runner.passed, len(runner.failed)))
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
