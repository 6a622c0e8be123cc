"""Tests of aqueduct_runtime.py.

The real runtime runs in a subprocess against two fakes served from threads:
fakeRuntimeAPI (Lambda's Runtime API) and fakePresignedStore (presigned S3
URLs). Standard library only: python3 -m unittest discover -s internal/runtime -p 'test_*.py'
"""

import ast
import hashlib
import http.server
import json
import os
import pickle
import queue
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "aqueduct_runtime.py")

CT_JSON = "application/json"
CT_PICKLE = "application/x-python-pickle"
CT_BYTES = "application/octet-stream"
SEVEN_MB = 7 * 1024 * 1024

OPS = '''
import sys, os, time, random, hashlib

CALLS = 0

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

def make_json():
    return {"answer": 42, "items": [1, 2.5, "three", None, True], "text": "caf\\u00e9"}

def make_point():
    return Point(3, 4)

def make_tuple():
    return (1, 2)

def make_nan():
    return float("nan")

def make_int_keys():
    return {1: "one"}

def make_bytes():
    return b"\\x00\\x01binary\\xff"

def make_big(size):
    return random.Random(7).getrandbits(8 * size).to_bytes(size, "little")

def make_big_json():
    return ["x" * 1000] * 100

def make_generator():
    return (i for i in range(3))

def digest(data):
    return {"len": len(data), "sha256": hashlib.sha256(data).hexdigest()}

def collect(a, b, c):
    return {"a": a, "b": [type(b).__name__, b.x, b.y], "c": c.hex()}

def counter():
    global CALLS
    CALLS += 1
    return CALLS

def with_params(data, alpha, *, beta=2, flag=False):
    return {"data": data, "alpha": alpha, "beta": beta, "flag": flag}

def with_kwargs(data, **kw):
    return {"data": data, "kw": kw}

def positional_only(x, /, **kw):
    return {"x": x, "kw": kw}

def echo(x="nothing"):
    return x

def _check(value):
    if value > 3:
        raise ValueError("bad value: %r" % value)

def fail(value):
    _check(value)
    return value

def exits():
    sys.exit(3)

def talk(marker):
    print("step one", end="")
    print("to stderr", end="", file=sys.stderr)
    deadline = time.time() + 20
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.02)
    return "done"

class Scorer:
    def score(self, x, weight=1):
        return x * weight

scorer = Scorer()

def child(code):
    import subprocess
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

def extra():
    import extra_mod
    return extra_mod.VALUE
'''

BROKEN = '''
import json
raise RuntimeError("boom at import")
'''

MISSING_DEP = '''
import definitely_missing_package_xyz
def fn():
    return 1
'''

ABORTS = '''
class Abort(BaseException):
    pass

raise Abort("gave up at import")
'''


def quiet(handler_cls):
    handler_cls.log_message = lambda *a: None
    return handler_cls


class quietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a runtime process stopped mid-request is expected here


class fakeRuntimeAPI:
    """Lambda's Runtime API: hands queued events to the runtime, records its answers."""

    def __init__(self):
        self.events = queue.Queue()
        self.results = {}
        self.init_errors = []
        self.cond = threading.Condition()
        self.closed = False
        self.exited = lambda: None  # the runtime's exit, when known: (status, stderr)
        fake = self

        @quiet
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self._reply(404, b"{}")
                while True:
                    try:
                        rid, payload = fake.events.get(timeout=0.2)
                        break
                    except queue.Empty:
                        if fake.closed:
                            return self._reply(500, b"closed")
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 60) * 1000)))
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-test")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = self.path.split("/")
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                with fake.cond:
                    if self.path == "/2018-06-01/runtime/init/error":
                        fake.init_errors.append((error_type, json.loads(body)))
                    elif len(parts) == 6 and parts[5] in ("response", "error"):
                        fake.results[parts[4]] = (parts[5], error_type, body)
                    else:
                        return self._reply(404, b"{}")
                    fake.cond.notify_all()
                self._reply(202, b'{"status":"OK"}')

            def _reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = quietServer(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def invoke(self, event, timeout=30):
        """Queues an event and waits for (kind, error_type, body)."""
        rid = str(uuid.uuid4())
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.events.put((rid, payload))
        with self.cond:
            self._wait(lambda: rid in self.results or self.init_errors, timeout, "an answer")
            if rid not in self.results:
                raise AssertionError("the runtime failed to start: %r" % (self.init_errors[0],))
            return self.results.pop(rid)

    def wait_init_error(self, timeout=20):
        with self.cond:
            self._wait(lambda: self.init_errors, timeout, "an init error")
            return self.init_errors.pop(0)

    def _wait(self, ready, timeout, what):
        """Waits (holding cond) until ready(); fails early if the runtime exits."""
        deadline = time.time() + timeout
        while not self.cond.wait_for(ready, 0.2):
            exited = self.exited()
            if exited and not self.cond.wait_for(ready, 0.5):
                raise AssertionError("the runtime exited with %s before %s; stderr:\n%s" % (exited[0], what, exited[1]))
            if time.time() > deadline:
                raise AssertionError("no %s from the runtime within %ss" % (what, timeout))

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


class fakePresignedStore:
    """Presigned-URL S3: objects by path; a URL without a signature is refused.
    With tls=(certfile, keyfile) it speaks HTTPS, as S3 does."""

    def __init__(self, tls=None):
        self.objects = {}
        self.lock = threading.Lock()
        self.fail_puts = 0  # answer the next n PUTs with 503
        self.put_status = None  # answer every PUT with this status
        self.put_count = 0
        store = self

        @quiet
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _signed(self):
                if "X-Amz-Signature=" not in self.path:
                    self._reply(403, b"<Error><Code>AccessDenied</Code></Error>")
                    return None
                return self.path.split("?")[0]

            def do_GET(self):
                key = self._signed()
                if key is None:
                    return
                with store.lock:
                    obj = store.objects.get(key)
                if obj is None:
                    return self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>")
                self._reply(200, obj[0], obj[1])

            def do_PUT(self):
                key = self._signed()
                if key is None:
                    return
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with store.lock:
                    store.put_count += 1
                    if store.put_status:
                        return self._reply(store.put_status, b"<Error><Code>Refused</Code></Error>")
                    if store.fail_puts > 0:
                        store.fail_puts -= 1
                        return self._reply(503, b"<Error><Code>SlowDown</Code></Error>")
                    store.objects[key] = (body, self.headers.get("Content-Type", CT_BYTES))
                self._reply(200, b"")

            def _reply(self, code, body, content_type="application/xml"):
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = quietServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base = "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, key):
        return "%s/bucket/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=fake" % (self.base, key)

    def put(self, key, body, content_type):
        with self.lock:
            self.objects["/bucket/" + key] = (body, content_type)

    def get(self, key):
        with self.lock:
            return self.objects.get("/bucket/" + key)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def image_env(handler, task_dir, api_address):
    """The environment of the function: the image's ENV (build.Dockerfile)
    with the task root at task_dir, and what Lambda adds."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AQUEDUCT_HANDLER": handler,
        "PYTHONPATH": task_dir,
        "PYTHONUNBUFFERED": "1",
        "LAMBDA_TASK_ROOT": task_dir,
        "AWS_LAMBDA_RUNTIME_API": api_address,
    }


class RuntimeProcess:
    """The real runtime, started as the image starts it (python3 -I, see
    runtime.Command), with only the environment the function has."""

    def __init__(self, handler, task_dir, python=None, extra_env=None):
        # Its own fake API: an event is never taken by a stopped process's request.
        self.api = api = fakeRuntimeAPI()
        self.out = tempfile.NamedTemporaryFile(prefix="rt-out-", delete=False)
        self.err = tempfile.NamedTemporaryFile(prefix="rt-err-", delete=False)
        env = image_env(handler, task_dir, api.address)
        env.update(extra_env or {})
        self.proc = subprocess.Popen(
            [python or sys.executable, "-I", RUNTIME], env=env, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL
        )
        api.exited = lambda: None if self.proc.poll() is None else (self.proc.returncode, self.stderr())

    def stdout(self):
        with open(self.out.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.err.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_output(self, read, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in read():
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)
        self.api.close()
        for f in (self.out, self.err):
            f.close()
            os.unlink(f.name)


class RuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = fakePresignedStore()
        cls.task_dir = tempfile.mkdtemp(prefix="aqueduct-task-")
        for name, src in (("ops", OPS), ("broken", BROKEN), ("missing_dep", MISSING_DEP), ("aborts", ABORTS)):
            with open(os.path.join(cls.task_dir, name + ".py"), "w") as f:
                f.write(textwrap.dedent(src))
        sys.path.insert(0, cls.task_dir)  # to pickle ops' classes as an upstream operator would

    @classmethod
    def tearDownClass(cls):
        sys.path.remove(cls.task_dir)
        cls.store.close()
        shutil.rmtree(cls.task_dir, ignore_errors=True)

    def setUp(self):
        self.store.fail_puts = 0
        self.store.put_status = None
        self.store.put_count = 0
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.stop()

    def start(self, handler):
        """Starts the runtime for handler; self.api is its Runtime API from then on."""
        p = RuntimeProcess(handler, self.task_dir)
        self.procs.append(p)
        self.api = p.api
        return p

    def event(self, out_key, inputs=(), parameters=None, **extra):
        ev = {
            "aqueduct": 1,
            "run_id": "r-test",
            "operator": out_key,
            "inputs": [
                {"operator": name, "url": self.store.url(key), "content_type": ct} for name, key, ct in inputs
            ],
            "output": {"url": self.store.url(out_key), "uri": "s3://bucket/" + out_key},
        }
        if parameters is not None:
            ev["parameters"] = parameters
        ev.update(extra)
        return ev

    def run_ok(self, event):
        kind, error_type, body = self.api.invoke(event)
        self.assertEqual(kind, "response", body)
        return json.loads(body)

    def run_error(self, event):
        kind, error_type, body = self.api.invoke(event)
        self.assertEqual(kind, "error", body)
        err = json.loads(body)
        self.assertEqual(error_type, err["errorType"])
        return err

    def key(self):
        return "runs/r-test/outputs/" + uuid.uuid4().hex

    # ------------------------------------------------------------ outputs

    def test_json_output_is_stored_and_previewed(self):
        self.start("ops:make_json")
        key = self.key()
        resp = self.run_ok(self.event(key))
        body, ct = self.store.get(key)
        self.assertEqual(ct, CT_JSON)
        want = {"answer": 42, "items": [1, 2.5, "three", None, True], "text": "caf\u00e9"}
        self.assertEqual(json.loads(body), want)
        self.assertEqual(resp["status"], "succeeded")
        self.assertEqual(resp["content_type"], CT_JSON)
        self.assertEqual(resp["size_bytes"], len(body))
        self.assertEqual(resp["output_uri"], "s3://bucket/" + key)
        self.assertEqual(resp["preview"], want)
        self.assertIsInstance(resp["duration_ms"], int)

    def test_large_json_has_no_preview(self):
        self.start("ops:make_big_json")
        key = self.key()
        resp = self.run_ok(self.event(key))
        self.assertEqual(resp["content_type"], CT_JSON)
        self.assertGreater(resp["size_bytes"], 64 * 1024)
        self.assertNotIn("preview", resp)
        self.assertEqual(len(json.loads(self.store.get(key)[0])), 100)

    def test_non_json_object_is_pickled_and_feeds_the_next_operator(self):
        self.start("ops:make_point")
        point_key = self.key()
        resp = self.run_ok(self.event(point_key))
        self.assertEqual(resp["content_type"], CT_PICKLE)
        self.assertNotIn("preview", resp)
        self.assertEqual(self.store.get(point_key)[1], CT_PICKLE)

        # The consumer runs in its own process, as the next Lambda function would.
        self.start("ops:collect")
        a, c, out = self.key(), self.key(), self.key()
        self.store.put(a, b'{"k": [1, 2]}', CT_JSON)
        self.store.put(c, b"\x00\xff", CT_BYTES)
        resp = self.run_ok(
            self.event(out, inputs=[("a", a, CT_JSON), ("b", point_key, CT_PICKLE), ("c", c, CT_BYTES)])
        )
        self.assertEqual(resp["preview"], {"a": {"k": [1, 2]}, "b": ["Point", 3, 4], "c": "00ff"})

    def test_values_json_would_change_are_pickled(self):
        for fn, want in (("make_tuple", (1, 2)), ("make_int_keys", {1: "one"})):
            self.start("ops:" + fn)
            key = self.key()
            resp = self.run_ok(self.event(key))
            self.assertEqual(resp["content_type"], CT_PICKLE, fn)
            self.assertEqual(pickle.loads(self.store.get(key)[0]), want)

    def test_nan_is_not_json(self):
        self.start("ops:make_nan")
        key = self.key()
        resp = self.run_ok(self.event(key))
        self.assertEqual(resp["content_type"], CT_PICKLE)
        self.assertNotEqual(pickle.loads(self.store.get(key)[0]), 0.0)

    def test_bytes_output_and_input(self):
        self.start("ops:make_bytes")
        key = self.key()
        resp = self.run_ok(self.event(key))
        self.assertEqual(resp["content_type"], CT_BYTES)
        self.assertEqual(self.store.get(key), (b"\x00\x01binary\xff", CT_BYTES))
        self.assertEqual(resp["size_bytes"], 9)

        self.start("ops:digest")
        resp = self.run_ok(self.event(self.key(), inputs=[("bytes", key, CT_BYTES)]))
        self.assertEqual(resp["preview"]["sha256"], hashlib.sha256(b"\x00\x01binary\xff").hexdigest())

    def test_unserialisable_result_is_an_error(self):
        self.start("ops:make_generator")
        err = self.run_error(self.event(self.key()))
        self.assertEqual(err["errorType"], "Aqueduct.SerializationError")
        self.assertIn("generator", err["errorMessage"])
        self.assertIn("cannot pickle", err["stackTrace"][-1])

    def test_seven_megabyte_output_and_input_travel_intact(self):
        want = random.Random(7).getrandbits(8 * SEVEN_MB).to_bytes(SEVEN_MB, "little")
        self.start("ops:make_big")
        key = self.key()
        resp = self.run_ok(self.event(key, parameters={"size": SEVEN_MB}))
        body, ct = self.store.get(key)
        self.assertEqual(ct, CT_BYTES)
        self.assertEqual(len(body), SEVEN_MB)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(want).hexdigest())
        self.assertEqual(resp["size_bytes"], SEVEN_MB)

        self.start("ops:digest")
        resp = self.run_ok(self.event(self.key(), inputs=[("big", key, CT_BYTES)]))
        self.assertEqual(resp["preview"], {"len": SEVEN_MB, "sha256": hashlib.sha256(want).hexdigest()})

    def test_output_put_is_retried_on_5xx(self):
        self.start("ops:make_json")
        self.store.fail_puts = 2
        key = self.key()
        self.run_ok(self.event(key))
        self.assertEqual(self.store.put_count, 3)
        self.assertEqual(json.loads(self.store.get(key)[0])["answer"], 42)

    def test_output_put_refused_is_not_retried(self):
        self.start("ops:make_json")
        self.store.put_status = 403
        err = self.run_error(self.event(self.key()))
        self.assertEqual(err["errorType"], "Aqueduct.OutputError")
        self.assertIn("HTTP 403", err["errorMessage"])
        self.assertNotIn("X-Amz-Signature", err["errorMessage"])
        self.assertEqual(self.store.put_count, 1)

    # ------------------------------------------------------------ calling

    def test_inputs_are_passed_in_order(self):
        import ops

        self.start("ops:collect")
        first, point, raw = self.key(), self.key(), self.key()
        self.store.put(first, b"2", CT_JSON)
        self.store.put(point, pickle.dumps(ops.Point(5, 6)), CT_PICKLE)
        self.store.put(raw, b"\x01\x02", CT_BYTES)
        resp = self.run_ok(
            self.event(self.key(), inputs=[("x", first, CT_JSON), ("p", point, CT_PICKLE), ("r", raw, CT_BYTES)])
        )
        self.assertEqual(resp["preview"], {"a": 2, "b": ["Point", 5, 6], "c": "0102"})
        # The same inputs in another order land in other arguments.
        err = self.run_error(
            self.event(self.key(), inputs=[("p", point, CT_PICKLE), ("x", first, CT_JSON), ("r", raw, CT_BYTES)])
        )
        self.assertEqual(err["errorType"], "AttributeError")  # b is the int 2: no .x

    def test_parameters_are_passed_by_name(self):
        self.start("ops:with_params")
        data = self.key()
        self.store.put(data, b'"d"', CT_JSON)
        params = {"alpha": 1, "beta": [3], "gamma": 9, "data": "not me"}
        resp = self.run_ok(self.event(self.key(), inputs=[("up", data, CT_JSON)], parameters=params))
        # gamma is not named; data is already the upstream output.
        self.assertEqual(resp["preview"], {"data": "d", "alpha": 1, "beta": [3], "flag": False})
        # The response says which parameters the callable takes, given or not.
        self.assertEqual(resp["accepts"], {"names": ["alpha", "beta", "flag"], "all": False})

    def test_var_keyword_gets_every_parameter(self):
        self.start("ops:with_kwargs")
        data = self.key()
        self.store.put(data, b"7", CT_JSON)
        params = {"alpha": 1, "gamma": {"z": None}, "data": "clash"}
        resp = self.run_ok(self.event(self.key(), inputs=[("up", data, CT_JSON)], parameters=params))
        self.assertEqual(resp["preview"], {"data": 7, "kw": {"alpha": 1, "gamma": {"z": None}}})
        self.assertEqual(resp["accepts"], {"names": [], "all": True})

    def test_positional_only_name_goes_to_var_keyword(self):
        self.start("ops:positional_only")
        data = self.key()
        self.store.put(data, b"1", CT_JSON)
        resp = self.run_ok(self.event(self.key(), inputs=[("up", data, CT_JSON)], parameters={"x": 2}))
        self.assertEqual(resp["preview"], {"x": 1, "kw": {"x": 2}})

    def test_pythonpath_reaches_the_code_and_its_subprocesses(self):
        # Lambda's configuration may set PYTHONPATH; -I ignored it at
        # start-up, so the runtime adds it after the task root, for the
        # operator and for the processes it starts.
        extra_dir = tempfile.mkdtemp(prefix="aqueduct-extra-")
        self.addCleanup(shutil.rmtree, extra_dir, True)
        with open(os.path.join(extra_dir, "extra_mod.py"), "w") as f:
            f.write("VALUE = 'extra'\n")
        p = RuntimeProcess("ops:extra", self.task_dir, extra_env={"PYTHONPATH": extra_dir})
        self.procs.append(p)
        self.api = p.api
        self.assertEqual(self.run_ok(self.event(self.key()))["preview"], "extra")

        p = RuntimeProcess("ops:child", self.task_dir, extra_env={"PYTHONPATH": extra_dir})
        self.procs.append(p)
        self.api = p.api
        code = "import os, ops, extra_mod; print(os.environ['PYTHONPATH'], ops.__name__, extra_mod.VALUE)"
        out = self.run_ok(self.event(self.key(), input=code))["preview"]
        self.assertEqual(out, "%s%s%s ops extra\n" % (self.task_dir, os.pathsep, extra_dir))

    def test_method_handler(self):
        self.start("ops:scorer.score")
        resp = self.run_ok(self.event(self.key(), input=4, parameters={"weight": 3}))
        self.assertEqual(resp["preview"], 12)

    def test_direct_input_is_the_first_argument(self):
        self.start("ops:echo")
        resp = self.run_ok(self.event(self.key(), input={"rows": [1, 2]}))
        self.assertEqual(resp["preview"], {"rows": [1, 2]})
        resp = self.run_ok(self.event(self.key()))
        self.assertEqual(resp["preview"], "nothing")

    def test_plain_event_from_the_console(self):
        self.start("ops:echo")
        kind, _, body = self.api.invoke({"hello": "world"})
        self.assertEqual(kind, "response")
        self.assertEqual(json.loads(body), {"hello": "world"})

    def test_module_stays_loaded_across_invocations(self):
        self.start("ops:counter")
        got = [self.run_ok(self.event(self.key()))["preview"] for _ in range(3)]
        self.assertEqual(got, [1, 2, 3])

    def test_newer_event_version_is_refused(self):
        self.start("ops:echo")
        ev = self.event(self.key())
        ev["aqueduct"] = 3
        err = self.run_error(ev)
        self.assertEqual(err["errorType"], "Aqueduct.BadEvent")
        self.assertIn("version 3", err["errorMessage"])
        self.assertIn("versions 1 and 2", err["errorMessage"])

    def test_presigned_event_as_version_2_is_refused(self):
        # Version 2 is a server event: it names a store, not URLs.
        self.start("ops:echo")
        ev = self.event(self.key())
        ev["aqueduct"] = 2
        err = self.run_error(ev)
        self.assertEqual(err["errorType"], "Aqueduct.BadEvent")
        self.assertEqual(err["errorMessage"], "event has no store")
        self.assertEqual(self.store.put_count, 0)

    def test_missing_input_is_an_input_error(self):
        self.start("ops:digest")
        err = self.run_error(self.event(self.key(), inputs=[("gone", "no/such/key", CT_BYTES)]))
        self.assertEqual(err["errorType"], "Aqueduct.InputError")
        self.assertIn("'gone'", err["errorMessage"])
        self.assertIn("HTTP 404", err["errorMessage"])

    def test_malformed_input_entry_is_an_input_error(self):
        self.start("ops:collect")
        ok = self.key()
        self.store.put(ok, b"1", CT_JSON)
        ev = self.event(self.key(), inputs=[("x", ok, CT_JSON)])
        ev["inputs"] += ["not an object", {"operator": "nourl"}]
        err = self.run_error(ev)
        self.assertEqual(err["errorType"], "Aqueduct.InputError")
        self.assertIn("#1", err["errorMessage"])

    # ------------------------------------------------------------ failures

    def test_exception_is_a_function_error_with_traceback(self):
        p = self.start("ops:fail")
        err = self.run_error(self.event(self.key(), input=5))
        self.assertEqual(err["errorType"], "ValueError")
        self.assertEqual(err["errorMessage"], "bad value: 5")
        trace = err["stackTrace"]
        self.assertEqual(trace[0], "Traceback (most recent call last):")
        self.assertEqual(trace[-1], "ValueError: bad value: 5")
        text = "\n".join(trace)
        self.assertIn("in fail", text)
        self.assertIn("in _check", text)
        self.assertIn('raise ValueError("bad value: %r" % value)', text)
        self.assertNotIn("aqueduct_runtime.py", text)  # starts at the user's code
        self.assertTrue(p.wait_output(p.stderr, "ValueError: bad value: 5"), p.stderr())
        self.assertIn("in _check", p.stderr())
        # The process survives to serve the next invocation.
        self.assertEqual(self.run_ok(self.event(self.key(), input=1))["preview"], 1)

    def test_sys_exit_is_a_function_error(self):
        self.start("ops:exits")
        err = self.run_error(self.event(self.key()))
        self.assertEqual(err["errorType"], "SystemExit")
        self.assertEqual(err["errorMessage"], "3")

    def test_import_error_is_an_init_error(self):
        for handler, error_type, fragment in (
            ("no_such_module:fn", "Runtime.ImportModuleError", "no_such_module"),
            ("missing_dep:fn", "Runtime.ImportModuleError", "definitely_missing_package_xyz"),
            ("broken:fn", "RuntimeError", "boom at import"),
            ("aborts:fn", "Abort", "gave up at import"),  # not an Exception
            ("ops:no_such_fn", "Runtime.HandlerNotFound", "no_such_fn"),
        ):
            p = self.start(handler)
            header, err = self.api.wait_init_error()
            self.assertEqual(header, error_type, handler)
            self.assertEqual(err["errorType"], error_type)
            self.assertIn(fragment, err["errorMessage"])
            self.assertTrue(err["stackTrace"], handler)
            trace = "\n".join(err["stackTrace"])
            # The user's frames only: not the runtime's, not importlib's.
            self.assertNotIn("aqueduct_runtime.py", trace)
            self.assertNotIn("importlib", trace)
            if handler.startswith("broken"):
                self.assertIn('broken.py", line 3, in <module>', trace)
                self.assertIn('raise RuntimeError("boom at import")', trace)
                # The log tail shows it too.
                self.assertTrue(p.wait_output(p.stderr, "RuntimeError: boom at import"), p.stderr())
                self.assertIn('broken.py", line 3, in <module>', p.stderr())
            if handler.startswith("aborts"):
                self.assertIn('aborts.py", line 5, in <module>', trace)
            if handler.startswith("missing_dep"):
                self.assertIn("import definitely_missing_package_xyz", trace)
                self.assertEqual(err["stackTrace"][-1], "ModuleNotFoundError: No module named 'definitely_missing_package_xyz'")
            self.assertEqual(p.proc.wait(10), 1)

    # ------------------------------------------------------------ logs and flags

    def test_user_output_reaches_the_logs_unbuffered(self):
        p = self.start("ops:talk")
        marker = os.path.join(self.task_dir, "marker-" + uuid.uuid4().hex)
        self.api.events.put(("talk-1", json.dumps(self.event(self.key(), parameters={"marker": marker})).encode()))
        # While the handler still runs, its partial lines are already written.
        self.assertTrue(p.wait_output(p.stdout, "step one"), "stdout: %r" % p.stdout())
        self.assertTrue(p.wait_output(p.stderr, "to stderr"), "stderr: %r" % p.stderr())
        with self.api.cond:
            self.assertNotIn("talk-1", self.api.results)
        open(marker, "w").close()
        with self.api.cond:
            self.assertTrue(self.api.cond.wait_for(lambda: "talk-1" in self.api.results, 20))
            kind, _, body = self.api.results.pop("talk-1")
        self.assertEqual(json.loads(body)["preview"], "done")

    def test_version_flag(self):
        out = subprocess.run([sys.executable, "-I", RUNTIME, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^aqueduct-runtime \d+\.\d+\.\d+ \(event versions 1 and 2, python 3\.")

    def test_outside_lambda_it_says_so(self):
        env = {"PATH": os.environ.get("PATH", "")}
        out = subprocess.run([sys.executable, "-I", RUNTIME], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("AWS_LAMBDA_RUNTIME_API", out.stderr)

    def test_source_parses_as_python_3_8(self):
        with open(RUNTIME) as f:
            ast.parse(f.read(), filename=RUNTIME, feature_version=(3, 8))


# ---------------------------------------------------------------- a task root with stdlib names

# A self-signed certificate for 127.0.0.1, valid 2000 to 9999, so that a store
# can speak HTTPS; the runtime trusts it through SSL_CERT_FILE. Test-only key.
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghaLG5tOjo0/1tI+T
qCt1Xrx/ajqWJuO8AqlHx3JaQ5yhRANCAARRWopEa+q/B214jImkwBB5EHL1TpQL
nCobAxCHJUa0KHbsbYJRAoCy3UT3q5N6UOg8daS9gOEbuHy//vv7Kce3
-----END PRIVATE KEY-----
"""
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBWzCCAQKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFFaikRr6r8HbXiM
iaTAEHkQcvVOlAucKhsDEIclRrQoduxtglECgLLdRPerk3pQ6Dx1pL2A4Ru4fL/+
+/spx7ejQzBBMA8GA1UdEwEB/wQFMAMBAf8wDwYDVR0RBAgwBocEfwAAATAdBgNV
HQ4EFgQUfCGBRjYfJ8SiqWI7TRHqc7uo++cwCgYIKoZIzj0EAwIDRwAwRAIgIScK
qnoDGigBvEvpULRMD7ougp5fUxsmQbUOcaJRUAcCIHi/16xkLkdR7vaC1Z1stxLp
xa1jhjMaYYHeLumeqFiB
-----END CERTIFICATE-----
"""

# Stand-ins for standard modules in a task root. Each notes its import in a
# log, then raises (not ImportError, which some stdlib code tolerates) or
# imports fine and hands out garbage.
RAISES = """open(%(log)r, "ab").write(b"%(name)s\\n")
raise RuntimeError("the task root's %(name)s was imported")
"""
GARBAGE = """open(%(log)r, "ab").write(b"%(name)s\\n")


def __getattr__(attr):
    return lambda *a, **k: "garbage from the task root's %(name)s"
"""
GARBAGE_NAMES = ("json", "base64", "pickle", "inspect", "io", "threading", "traceback", "http", "http.client")
PACKAGES = ("http", "email", "urllib", "encodings")  # the others are plain modules


def shadow_path(task_dir, name):
    if name in PACKAGES:
        return os.path.join(task_dir, name, "__init__.py")
    return os.path.join(task_dir, *name.split(".")) + ".py"

SHADOW_OPS = """
import json  # the runtime's: it was imported before the task root was on sys.path
import colorsys  # the user's own: the runtime does not use it
import shadow_helpers  # a sibling module
import fancylib  # a package pip installed into the task root


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def make_point():
    return Point(3, "caf\\u00e9")


def summarise(a, b, scale):
    return {
        "sum": (a["n"] + b.x) * scale,
        "text": b.y,
        "json_file": json.__file__,
        "dumps": json.dumps({"k": [1]}),
        "colorsys": colorsys.ORIGIN,
        "helper": shadow_helpers.VALUE,
        "lib": fancylib.describe(),
    }


size = len  # a builtin: inspect.signature parses its text signature


def fail(x):
    values = {"k": x}
    raise ValueError("caf\u00e9 %r" % (values["k"]["missing"] if x else x,))  # non-ASCII, with carets
"""

SHADOW_BROKEN = """
import shadow_helpers
raise RuntimeError("the operator failed at import: " + shadow_helpers.VALUE)
"""


def stdlib_module_names():
    names = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if names:
        return set(names)
    import pkgutil
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = [paths["stdlib"], os.path.join(paths["platstdlib"], "lib-dynload")]
    return set(sys.builtin_module_names) | {m.name for m in pkgutil.iter_modules(dirs)}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class ShadowedStdlibTest(unittest.TestCase):
    """The task root has a module or package for every standard module name.
    The runtime must still work, import none of them, and let the user's code
    import its own siblings and packages."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aqueduct-shadow-")
        cls.task_dir = os.path.join(cls.tmp, "task")
        cls.log = os.path.join(cls.tmp, "shadow-imports.log")
        for name in stdlib_module_names() - set(GARBAGE_NAMES) - {"colorsys"}:
            write(shadow_path(cls.task_dir, name), RAISES % {"log": cls.log, "name": name})
        for name in GARBAGE_NAMES:
            write(shadow_path(cls.task_dir, name), GARBAGE % {"log": cls.log, "name": name})
        write(os.path.join(cls.task_dir, "colorsys.py"), "ORIGIN = 'the task root'\n")
        write(os.path.join(cls.task_dir, "shadow_ops.py"), SHADOW_OPS)
        write(os.path.join(cls.task_dir, "shadow_broken.py"), SHADOW_BROKEN)
        write(os.path.join(cls.task_dir, "shadow_helpers.py"), "VALUE = 'from the sibling'\n")
        # As `pip install --target` lays a package out.
        write(os.path.join(cls.task_dir, "fancylib", "__init__.py"), "from .core import describe\n__version__ = '1.0'\n")
        write(os.path.join(cls.task_dir, "fancylib", "core.py"), "def describe():\n    from . import __version__\n    return 'fancylib ' + __version__\n")
        write(os.path.join(cls.task_dir, "fancylib-1.0.dist-info", "METADATA"), "Metadata-Version: 2.1\nName: fancylib\nVersion: 1.0\n")
        write(os.path.join(cls.task_dir, "fancylib-1.0.dist-info", "RECORD"), "")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        write(cls.cert, TEST_CERT)
        write(cls.key, TEST_KEY)
        cls.store = fakePresignedStore()
        cls.tls_store = fakePresignedStore(tls=(cls.cert, cls.key))

    @classmethod
    def tearDownClass(cls):
        cls.store.close()
        cls.tls_store.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.stop()
        try:
            with open(self.log, "rb") as f:
                imported = f.read().decode().split()
            os.unlink(self.log)
        except FileNotFoundError:
            imported = []
        self.assertEqual(imported, [], "the runtime imported these from the task root")

    def start(self, handler):
        p = RuntimeProcess(handler, self.task_dir, extra_env={"SSL_CERT_FILE": self.cert})
        self.procs.append(p)
        return p

    def event(self, store, out_key, inputs=(), **extra):
        ev = {
            "aqueduct": 1,
            "run_id": "r-shadow",
            "operator": out_key,
            "inputs": [{"operator": n, "url": store.url(k), "content_type": ct} for n, k, ct in inputs],
            "output": {"url": store.url(out_key), "uri": "s3://bucket/" + out_key},
        }
        ev.update(extra)
        return ev

    def pipeline(self, store):
        """make_point, then summarise with it and a JSON input: pickle and
        JSON both ways, two inputs fetched in parallel, a parameter."""
        point = "shadow/" + uuid.uuid4().hex
        kind, _, body = self.start("shadow_ops:make_point").api.invoke(self.event(store, point))
        self.assertEqual(kind, "response", body)
        self.assertEqual(json.loads(body)["content_type"], CT_PICKLE)
        self.assertEqual(store.get(point)[1], CT_PICKLE)

        a, out = "shadow/" + uuid.uuid4().hex, "shadow/" + uuid.uuid4().hex
        store.put(a, b'{"n": 2}', CT_JSON)
        ev = self.event(store, out, inputs=[("a", a, CT_JSON), ("b", point, CT_PICKLE)], parameters={"scale": 10})
        kind, _, body = self.start("shadow_ops:summarise").api.invoke(ev)
        self.assertEqual(kind, "response", body)
        got = json.loads(store.get(out)[0])
        self.assertEqual(json.loads(body)["preview"], got)
        self.assertEqual(got["sum"], 50)
        self.assertEqual(got["text"], "caf\u00e9")
        self.assertFalse(got["json_file"].startswith(self.task_dir), got["json_file"])
        self.assertEqual(got["dumps"], '{"k": [1]}')
        self.assertEqual(got["colorsys"], "the task root")
        self.assertEqual(got["helper"], "from the sibling")
        self.assertEqual(got["lib"], "fancylib 1.0")

    def test_operator_runs_with_stdlib_names_in_the_task_root(self):
        self.pipeline(self.store)

    def test_https_store_with_stdlib_names_in_the_task_root(self):
        self.pipeline(self.tls_store)

    def test_builtin_handler(self):
        kind, _, body = self.start("shadow_ops:size").api.invoke(self.event(self.store, "shadow/" + uuid.uuid4().hex, input="abcd"))
        self.assertEqual(kind, "response", body)
        self.assertEqual(json.loads(body)["preview"], 4)

    def test_user_exception_is_reported(self):
        p = self.start("shadow_ops:fail")
        kind, error_type, body = p.api.invoke(self.event(self.store, "shadow/" + uuid.uuid4().hex, input=1))
        self.assertEqual(kind, "error", body)
        err = json.loads(body)
        self.assertEqual((error_type, err["errorType"]), ("TypeError", "TypeError"))
        n = SHADOW_OPS.splitlines().index([l for l in SHADOW_OPS.splitlines() if "raise ValueError" in l][0]) + 1
        trace = "\n".join(err["stackTrace"])
        self.assertIn('shadow_ops.py", line %d, in fail' % n, trace)
        self.assertIn('values["k"]["missing"]', trace)
        self.assertEqual(err["stackTrace"][-1], "TypeError: 'int' object is not subscriptable")
        self.assertTrue(p.wait_output(p.stderr, "TypeError: 'int' object is not subscriptable"), p.stderr())

    def test_init_error_is_reported(self):
        p = self.start("shadow_broken:fn")
        error_type, err = p.api.wait_init_error()
        self.assertEqual((error_type, err["errorType"]), ("RuntimeError", "RuntimeError"))
        self.assertEqual(err["errorMessage"], "the operator failed at import: from the sibling")
        self.assertIn('shadow_broken.py", line 3, in <module>', "\n".join(err["stackTrace"]))
        self.assertEqual(p.proc.wait(10), 1)
        self.assertIn("RuntimeError: the operator failed at import", p.stderr())


# ---------------------------------------------------------------- the runtime's own start-up fails


class StartupCrashTest(unittest.TestCase):
    """A Python whose standard library is broken, as a base image might ship
    it: a venv whose .pth file puts a directory of broken modules first on
    sys.path, which even -I honours. The runtime's own imports fail; the
    crash must still reach /init/error and stderr."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="aqueduct-crash-")
        venv = os.path.join(cls.tmp, "venv")
        made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], capture_output=True, text=True)
        if made.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise unittest.SkipTest("cannot make a venv: %s" % made.stderr)
        cls.python = os.path.join(venv, "bin", "python")
        cls.site = subprocess.check_output(
            [cls.python, "-I", "-c", "import site; print(site.getsitepackages()[0])"], text=True
        ).strip()
        cls.task_dir = os.path.join(cls.tmp, "task")
        write(os.path.join(cls.task_dir, "ok.py"), "def fn():\n    return 1\n")
        with open(RUNTIME) as f:
            cls.runtime_lines = f.read().splitlines()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def runtime_line(self, text):
        return self.runtime_lines.index(text) + 1

    def crash(self, module, path):
        """Breaks module (a file at path under the shadow dir) and starts the runtime."""
        shadow = os.path.join(self.tmp, "shadow-" + module)
        write(os.path.join(shadow, path), "# A broken %s.\nraise RuntimeError(%r)\n" % (module, "broken " + module))
        write(os.path.join(self.site, "broken.pth"), "import sys; sys.path.insert(0, %r)\n" % shadow)
        p = RuntimeProcess("ok:fn", self.task_dir, python=self.python)
        self.addCleanup(p.stop)
        error_type, err = p.api.wait_init_error()
        self.assertEqual(p.proc.wait(10), 1)
        self.assertEqual((error_type, err["errorType"], err["errorMessage"]), ("RuntimeError", "RuntimeError", "broken " + module))
        trace = err["stackTrace"]
        self.assertEqual(trace[0], "Traceback (most recent call last):")
        self.assertEqual(trace[-1], "RuntimeError: broken " + module)
        failing = '%s", line 2, in <module>' % os.path.join(shadow, path)
        self.assertTrue(any(l.endswith(failing) for l in trace), trace)
        stderr = p.stderr()
        self.assertIn("Traceback (most recent call last):", stderr)
        self.assertIn(failing, stderr)
        self.assertIn("raise RuntimeError('broken %s')" % module, stderr)
        self.assertIn("RuntimeError: broken " + module, stderr)
        return "\n".join(trace)

    def test_broken_json(self):
        # The crash report cannot use json.
        trace = self.crash("json", "json/__init__.py")
        n = self.runtime_line("    import json")
        self.assertIn('aqueduct_runtime.py", line %d, in <module>\n    import json\n' % n, trace)
        self.assertIn("raise RuntimeError('broken json')", trace)

    def test_broken_http(self):
        # Nor http.client.
        trace = self.crash("http", "http/__init__.py")
        n = self.runtime_line("    import http.client")
        self.assertIn('aqueduct_runtime.py", line %d, in <module>\n    import http.client\n' % n, trace)

    def test_broken_socket(self):
        # Nor socket: http.client imports it.
        trace = self.crash("socket", "socket.py")
        self.assertRegex(trace, r'aqueduct_runtime.py", line \d+, in <module>')

    def test_broken_traceback(self):
        # Nor traceback: the frames still name the file and the line.
        trace = self.crash("traceback", "traceback.py")
        self.assertRegex(trace, r'aqueduct_runtime.py", line \d+, in <module>')


if __name__ == "__main__":
    unittest.main()
