#!/usr/bin/env python3
"""Runs an ONNX backend node-test suite through weftc + weft-run.

Every case directory (model.onnx + test_data_set_*/) is compiled with
`weftc model.onnx --emit=lib -o case.so` and each data set is checked with
`weft-run case.so --input-dir test_data_set_N --compare`. A case passes when
every command exits 0. When weftc reports that a model input decides a
shape (a Reshape's shape or a Slice's starts fed as a graph input), the
case is compiled for each data set's value of that input with
`--input-value NAME=test_data_set_N/input_K.pb`, as a user of an
ahead-of-time compiler would; the input stays in the ABI and weft-run still
passes it (the runtime checks it is that value). The suites store bfloat16
tensors as UINT16 bit patterns; weft-run reads them so (--u16-as-bf16).

Failures are classified as:
  compile-diagnostic  weftc exited non-zero with an "error" message
  compile-crash       weftc died by a signal, hit a fatal error, or failed
                      without a diagnostic
  timeout             weftc or weft-run ran past its time limit
  run-error           weft-run failed (non-zero, not a mismatch)
  mismatch            weft-run exited 1 and reported MISMATCH
  run-crash           weft-run died by a signal

Results are compared with an expected-failures list (--xfail). An unexpected
failure or an unexpected pass fails the run, so the list stays true. Crashes
and timeouts are always unexpected, listed or not: Weft promises that no input
crashes or hangs the compiler or a compiled model.
"""

import argparse
import concurrent.futures
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_SUITE = "/usr/share/libonnx-testdata/data/node"
# --suite onnx-wheel: the node cases shipped in the installed onnx Python
# package, whose expected-failures list (onnx-1.17.xfail) is for this version.
WHEEL_SUITE = "onnx-wheel"
WHEEL_VERSION = "1.17.0"


def wheel_suite():
    """The installed onnx package's node-case directory, or an error string."""
    try:
        import onnx
    except ImportError:
        return None, "--suite onnx-wheel needs the onnx Python package"
    if onnx.__version__ != WHEEL_VERSION:
        return None, (f"--suite onnx-wheel expects onnx {WHEEL_VERSION} (its expected failures "
                      f"are listed for that version), found {onnx.__version__}")
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node"), None

PASS = "pass"
COMPILE_DIAGNOSTIC = "compile-diagnostic"
COMPILE_CRASH = "compile-crash"
TIMEOUT = "timeout"
RUN_ERROR = "run-error"
MISMATCH = "mismatch"
RUN_CRASH = "run-crash"

# Statuses that are never acceptable, whatever the xfail list says.
ALWAYS_UNEXPECTED = frozenset({COMPILE_CRASH, RUN_CRASH, TIMEOUT})

# When one case has several data sets, the status reported is the most severe
# one seen, so a crash on set 1 is not hidden by a mismatch on set 0.
SEVERITY = {PASS: 0, MISMATCH: 1, RUN_ERROR: 2, RUN_CRASH: 3, TIMEOUT: 4}

# Output that means the process crashed even if its exit code looks ordinary:
# LLVM's fatal-error path and crash handler print these, and a wrapper script
# turns a child's signal into exit code 128+N.
CRASH_MARKERS = ("Stack dump:", "PLEASE submit a bug report", "LLVM ERROR:",
                 "Assertion `", "Segmentation fault", "core dumped",
                 "AddressSanitizer", "terminate called")
SIGNAL_EXIT_CODES = frozenset(128 + s for s in (
    signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL,
    signal.SIGFPE, signal.SIGKILL))

# Enough of a tool's output to classify it and show the diagnostic; the rest
# is dropped so a runaway log cannot exhaust memory across 900+ cases.
MAX_OUTPUT_CHARS = 64 * 1024


class Result:
    """What happened to one case."""

    def __init__(self, case, status, detail="", seconds=0.0):
        self.case = case
        self.status = status
        self.detail = detail
        self.seconds = seconds
        # Filled in by classify() once the xfail list is known.
        self.expected_failure = False
        self.outcome = ""

    @property
    def failed(self):
        return self.status != PASS

    @property
    def crash_or_timeout(self):
        return self.status in ALWAYS_UNEXPECTED


class ToolRunner:
    """Runs the tools, each in its own process group, and remembers the live
    ones so an interrupted run can kill exactly the processes it started.

    A separate group lets a timeout also kill anything the tool spawned (weftc
    may run a linker); otherwise an orphan holding the pipe open would block
    us forever. The flip side is that Ctrl-C no longer reaches the tools, so
    kill_all() does that job.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._live = set()
        self._stopping = False

    def kill_all(self):
        with self._lock:
            self._stopping = True
            for proc in self._live:
                _kill_group(proc)

    def run(self, cmd, timeout, cwd=None):
        """Returns (returncode, or None on timeout, and the combined output)."""
        with self._lock:
            if self._stopping:
                return 127, "interrupted"
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=cwd,
                                        start_new_session=True)
            except OSError as e:
                return 127, f"cannot run {cmd[0]}: {e}"
            self._live.add(proc)
        try:
            out, _ = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            rc = None
        finally:
            with self._lock:
                self._live.discard(proc)
        return rc, _clip(out.decode("utf-8", errors="replace"))


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _clip(text):
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n[... output truncated ...]"
    return text


def looks_like_crash(rc, output):
    if rc is not None and (rc < 0 or rc in SIGNAL_EXIT_CODES):
        return True
    return any(marker in output for marker in CRASH_MARKERS)


def describe_exit(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit code {rc}"


def first_line(output, pattern=None):
    """The line a human wants to see first: the first one matching pattern if
    given and present, else the first non-empty line."""
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    if pattern:
        for line in lines:
            if re.search(pattern, line, re.IGNORECASE):
                return line
    return lines[0] if lines else ""


def classify_compile(rc, output):
    """Status and detail for a weftc run that did not succeed."""
    if rc is None:
        return TIMEOUT, "weftc timed out"
    if looks_like_crash(rc, output):
        line = first_line(output, r"LLVM ERROR|Assertion|Stack dump|error")
        return COMPILE_CRASH, f"weftc {describe_exit(rc)}" + (f": {line}" if line else "")
    if re.search(r"error", output, re.IGNORECASE):
        return COMPILE_DIAGNOSTIC, first_line(output, r"error")
    # A clean non-zero exit that says nothing is as useless to a user as a
    # crash, so it counts as one.
    return COMPILE_CRASH, f"weftc {describe_exit(rc)} without a diagnostic"


def classify_run(rc, output):
    if rc is None:
        return TIMEOUT, "weft-run timed out"
    if looks_like_crash(rc, output):
        line = first_line(output, r"error|Assertion|Stack dump")
        return RUN_CRASH, f"weft-run {describe_exit(rc)}" + (f": {line}" if line else "")
    if rc == 1 and "MISMATCH" in output:
        return MISMATCH, first_line(output, r"MISMATCH")
    line = first_line(output, r"error")
    return RUN_ERROR, f"weft-run {describe_exit(rc)}" + (f": {line}" if line else "")


def data_sets(case_dir):
    def index(name):
        m = re.search(r"(\d+)$", name)
        return int(m.group(1)) if m else 0
    names = [n for n in os.listdir(case_dir)
             if n.startswith("test_data_set_") and os.path.isdir(os.path.join(case_dir, n))]
    return [os.path.join(case_dir, n) for n in sorted(names, key=index)]


# weftc's diagnostic for a model input whose value decides a shape (Reshape's
# shape, Slice's starts, ...): the case is compiled for each data set's value.
INPUT_VALUE_RE = re.compile(r"compile for one value of it with --input-value (.+?)=FILE\.pb")
MAX_INPUT_VALUES = 8


def graph_input_positions(model_path):
    """Position of each graph input among the inputs fed at run time (those
    without an initializer), as weft-run numbers input_N.pb."""
    import onnx  # only cases with --input-value need it
    graph = onnx.load(model_path, load_external_data=False).graph
    initialized = {t.name for t in graph.initializer}
    fed = [i.name for i in graph.input if i.name not in initialized]
    return {name: k for k, name in enumerate(fed)}


def compile_case(opts, runner, work, model, lib, values, data_dir):
    """Runs weftc; `values` are the inputs compiled for data_dir's value."""
    cmd = [opts.weftc, model, "--emit=lib", "-o", lib]
    cmd += [f"--input-value={name}={os.path.join(data_dir, f'input_{k}.pb')}"
            for name, k in values]
    cmd += opts.weftc_args
    return runner.run(cmd, opts.compile_timeout, cwd=work)


def run_case(case, case_dir, opts, runner):
    """Compiles and runs one case and returns its Result. A model input that
    weftc needs at compile time (it says so, naming --input-value) is given
    each data set's value: the case is then compiled once per data set."""
    start = time.monotonic()
    work = os.path.join(opts.workdir, case)
    os.makedirs(work, exist_ok=True)
    try:
        model = os.path.join(case_dir, "model.onnx")
        sets = data_sets(case_dir)
        values = []  # (input name, position) compiled for a data set's value
        while True:
            lib = os.path.join(work, "case.so")
            rc, out = compile_case(opts, runner, work, model, lib, values,
                                   sets[0] if sets else case_dir)
            m = INPUT_VALUE_RE.search(out) if rc not in (None, 0) and sets else None
            if not m or len(values) >= MAX_INPUT_VALUES:
                break
            positions = graph_input_positions(model)
            if m.group(1) not in positions or any(n == m.group(1) for n, _ in values):
                break
            values.append((m.group(1), positions[m.group(1)]))
        if rc is None:
            return Result(case, TIMEOUT, f"weftc timed out after {opts.compile_timeout:g} s",
                          time.monotonic() - start)
        if rc != 0:
            status, detail = classify_compile(rc, out)
            return Result(case, status, detail, time.monotonic() - start)
        if not os.path.isfile(lib):
            return Result(case, COMPILE_CRASH, f"weftc exited 0 but wrote no {os.path.basename(lib)}",
                          time.monotonic() - start)
        if opts.check_args:
            # A second compile the case must pass too (an object for another
            # target, say), with the same compiled-for values.
            cmd = [opts.weftc, model, "--emit=obj", "-o", os.path.join(work, "check.o")]
            cmd += [f"--input-value={name}={os.path.join(sets[0] if sets else case_dir, f'input_{k}.pb')}"
                    for name, k in values]
            cmd += opts.check_args
            rc, out = runner.run(cmd, opts.compile_timeout, cwd=work)
            if rc != 0:
                s, d = classify_compile(rc, out) if rc is not None else (
                    TIMEOUT, f"weftc timed out after {opts.compile_timeout:g} s")
                return Result(case, s, f"check compile ({' '.join(opts.check_args)}): {d}",
                              time.monotonic() - start)

        status, detail = PASS, ""
        if not sets:
            return Result(case, RUN_ERROR, "case has no test_data_set_* directory",
                          time.monotonic() - start)
        for n, data_dir in enumerate(sets):
            if values and n > 0:
                lib = os.path.join(work, f"case_{n}.so")
                rc, out = compile_case(opts, runner, work, model, lib, values, data_dir)
                if rc != 0:
                    s, d = classify_compile(rc, out) if rc is not None else (
                        TIMEOUT, f"weftc timed out after {opts.compile_timeout:g} s")
                    return Result(case, s, f"{os.path.basename(data_dir)}: {d}",
                                  time.monotonic() - start)
            # The suites store bfloat16 tensors as their UINT16 bit patterns.
            cmd = [opts.weft_run, lib, "--input-dir", data_dir, "--compare", "--u16-as-bf16"]
            cmd += opts.weft_run_args
            rc, out = runner.run(cmd, opts.run_timeout, cwd=work)
            if rc == 0:
                continue
            if rc is None:
                s, d = TIMEOUT, f"weft-run timed out after {opts.run_timeout:g} s"
            else:
                s, d = classify_run(rc, out)
            if SEVERITY[s] > SEVERITY[status]:
                status, detail = s, f"{os.path.basename(data_dir)}: {d}"
            if s == TIMEOUT:
                break  # the next set would most likely burn the same minute
        return Result(case, status, detail, time.monotonic() - start)
    finally:
        if not opts.keep_work:
            shutil.rmtree(work, ignore_errors=True)


def find_cases(suite, pattern):
    regex = re.compile(pattern) if pattern else None
    cases = []
    for name in sorted(os.listdir(suite)):
        case_dir = os.path.join(suite, name)
        if not os.path.isfile(os.path.join(case_dir, "model.onnx")):
            continue
        if regex and not regex.search(name):
            continue
        cases.append((name, case_dir))
    return cases


def read_xfail(path):
    """Case names from an xfail file: one per line, '#' starts a comment."""
    names = set()
    if not path or not os.path.exists(path):
        return names
    with open(path) as f:
        for line in f:
            name = line.split("#", 1)[0].strip()
            if name:
                names.add(name)
    return names


def write_xfail(path, failing, suite):
    with open(path, "w") as f:
        f.write("# Expected failures of the ONNX node conformance suite for Weft.\n")
        f.write(f"# Suite: {suite}\n")
        suite_arg = f" --suite {WHEEL_SUITE}" if suite.startswith(WHEEL_SUITE) else ""
        f.write(f"# Regenerate with: test/conformance/run_conformance.py{suite_arg} --xfail "
                "THIS_FILE --update-xfail\n")
        f.write("# Crashes and timeouts stay failures of the run even when listed here.\n")
        for name in sorted(failing):
            f.write(name + "\n")


def classify(results, xfail):
    """Sets expected_failure and outcome on every result."""
    for r in results:
        listed = r.case in xfail
        if not r.failed:
            r.outcome = "unexpected-pass" if listed else "pass"
        elif r.crash_or_timeout:
            r.outcome = "unexpected-failure"
        elif listed:
            r.expected_failure = True
            r.outcome = "expected-failure"
        else:
            r.outcome = "unexpected-failure"


def summarize(results):
    passed = sum(1 for r in results if not r.failed)
    failed = sum(1 for r in results if r.failed)
    expected = sum(1 for r in results if r.expected_failure)
    unexpected_fail = sum(1 for r in results if r.outcome == "unexpected-failure")
    unexpected_pass = sum(1 for r in results if r.outcome == "unexpected-pass")
    crashes = sum(1 for r in results if r.crash_or_timeout)
    line = (f"conformance: {passed} passed, {failed} failed ({expected} expected failures), "
            f"{unexpected_fail} unexpected failures, {unexpected_pass} unexpected passes, "
            f"{crashes} crashes/timeouts")
    return line, unexpected_fail + unexpected_pass


def format_result(r):
    text = f"{r.outcome.upper()}: {r.case} [{r.status}] ({r.seconds:.1f} s)"
    return text + (f": {r.detail}" if r.detail else "")


def write_report(path, results):
    rows = [{"case": r.case, "status": r.status, "outcome": r.outcome,
             "seconds": round(r.seconds, 3), "detail": r.detail}
            for r in sorted(results, key=lambda r: r.case)]
    if path.endswith(".csv"):
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["case"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        with open(path, "w") as f:
            json.dump({"cases": rows}, f, indent=1)
            f.write("\n")


def find_tool(explicit, build_dir, name, parser):
    if explicit:
        # A bare name means "from PATH"; anything else becomes absolute
        # because the tools run with each case's work directory as cwd.
        if os.sep not in explicit:
            return shutil.which(explicit) or explicit
        return os.path.abspath(explicit)
    if build_dir:
        return os.path.abspath(os.path.join(build_dir, "bin", name))
    parser.error(f"give --{name} or --build-dir")
    return None


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Exits 1 on an unexpected "
                    "failure, unexpected pass, crash or timeout.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--suite", default=DEFAULT_SUITE,
                        help="directory of case directories, or 'onnx-wheel' for the cases "
                             f"of the installed onnx {WHEEL_VERSION} package (default: %(default)s)")
    parser.add_argument("--build-dir", help="Weft build tree; tools are taken from its bin/")
    parser.add_argument("--weftc", help="path to weftc (overrides --build-dir)")
    parser.add_argument("--weft-run", help="path to weft-run (overrides --build-dir)")
    parser.add_argument("-j", "--jobs", type=int, default=2,
                        help="cases run in parallel (default: %(default)s)")
    parser.add_argument("--xfail", metavar="FILE",
                        help="expected-failures file: one case name per line, '#' comments")
    parser.add_argument("--update-xfail", action="store_true",
                        help="rewrite the --xfail file with the failures of this run "
                             "(entries for cases not selected by --filter are kept)")
    parser.add_argument("--filter", metavar="REGEX",
                        help="only run cases whose name matches REGEX (re.search)")
    parser.add_argument("--report", metavar="FILE",
                        help="write every case's status and first diagnostic line; "
                             "CSV if FILE ends in .csv, JSON otherwise")
    parser.add_argument("--workdir", help="where per-case libraries go "
                        "(default: a temporary directory, removed afterwards)")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep each case's work directory instead of deleting it")
    parser.add_argument("--compile-timeout", type=float, default=120.0,
                        help="seconds allowed for one weftc run (default: %(default)s)")
    parser.add_argument("--run-timeout", type=float, default=60.0,
                        help="seconds allowed for one weft-run run (default: %(default)s)")
    parser.add_argument("--weftc-arg", action="append", default=[], dest="weftc_args",
                        metavar="ARG", help="extra argument for weftc (repeatable), "
                        "e.g. --weftc-arg=--target=cpu")
    parser.add_argument("--check-compile-arg", action="append", default=[], dest="check_args",
                        metavar="ARG",
                        help="also compile each case to an object with these weftc arguments "
                             "(repeatable; for example --target=cuda); the case fails if that "
                             "compile fails")
    parser.add_argument("--weft-run-arg", action="append", default=[], dest="weft_run_args",
                        metavar="ARG", help="extra argument for weft-run (repeatable), "
                        "e.g. --weft-run-arg=--threads=1")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print a line for every case, not only unexpected ones")
    args = parser.parse_args(argv)
    args.weftc = find_tool(args.weftc, args.build_dir, "weftc", parser)
    args.weft_run = find_tool(args.weft_run, args.build_dir, "weft-run", parser)
    if args.update_xfail and not args.xfail:
        parser.error("--update-xfail needs --xfail FILE")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.filter:
        try:
            re.compile(args.filter)
        except re.error as e:
            parser.error(f"bad --filter: {e}")
    return args


def main(argv=None):
    args = parse_args(argv)
    suite_label = args.suite
    if args.suite == WHEEL_SUITE:
        args.suite, problem = wheel_suite()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        suite_label = f"{WHEEL_SUITE} (onnx {WHEEL_VERSION}: onnx/backend/test/data/node)"
    if not os.path.isdir(args.suite):
        print(f"error: suite directory {args.suite} does not exist", file=sys.stderr)
        return 2
    for tool in (args.weftc, args.weft_run):
        if not os.access(tool, os.X_OK):
            print(f"error: {tool} is not an executable", file=sys.stderr)
            return 2
    if args.xfail and not args.update_xfail and not os.path.exists(args.xfail):
        print(f"error: xfail file {args.xfail} does not exist", file=sys.stderr)
        return 2

    cases = find_cases(args.suite, args.filter)
    if not cases:
        print("error: no cases selected", file=sys.stderr)
        return 2
    xfail = read_xfail(args.xfail)
    all_names = {name for name, _ in find_cases(args.suite, None)}
    stale = sorted(xfail - all_names)
    if stale:
        print(f"warning: {len(stale)} xfail entries name no case in the suite: "
              + ", ".join(stale[:10]) + (" ..." if len(stale) > 10 else ""), file=sys.stderr)

    own_workdir = args.workdir is None
    args.workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="weft-conformance-"))
    os.makedirs(args.workdir, exist_ok=True)

    # The tools run in their own sessions, so a SIGTERM to this process (CI
    # cancelling a job) would otherwise orphan them; route it through the same
    # cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda signum, frame: signal.default_int_handler(signum, frame))
    results = []
    runner = ToolRunner()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(run_case, name, d, args, runner): name for name, d in cases}
        for fut in concurrent.futures.as_completed(futures):
            try:
                r = fut.result()
            except Exception as e:  # a bug here must not discard 900 results
                r = Result(futures[fut], RUN_ERROR, f"runner error: {e!r}")
            results.append(r)
            # Classify now so unexpected results stream out as they happen
            # instead of after a 20-minute run.
            classify([r], xfail)
            if args.verbose or r.outcome.startswith("unexpected"):
                print(format_result(r), flush=True)
    except KeyboardInterrupt:
        runner.kill_all()
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if own_workdir and not args.keep_work:
            shutil.rmtree(args.workdir, ignore_errors=True)

    if args.update_xfail:
        ran = {r.case for r in results}
        # Keep the entries of cases --filter left out; drop ones naming no case.
        failing = {r.case for r in results if r.failed} | ((xfail - ran) & all_names)
        write_xfail(args.xfail, failing, suite_label)
        print(f"wrote {len(failing)} entries to {args.xfail}")
        xfail = failing
    classify(results, xfail)

    if args.report:
        write_report(args.report, results)
    line, unexpected = summarize(results)
    print(line)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
