#!/usr/bin/env python3
"""Aqueduct operator runtime.

The entry point of every operator image: `python3 -I /opt/aqueduct/aqueduct_runtime.py`.
It speaks the AWS Lambda Runtime API itself, so any image with a python3 (3.8+)
works. Standard library only: it runs before the user's requirements matter.

Start-up keeps the user's files from breaking the runtime. Isolated mode (-I)
keeps PYTHONPATH and the script's directory off sys.path while the runtime
imports what it needs, including what the stdlib would import lazily on its
paths; only then do the task root and PYTHONPATH's entries go first on
sys.path. So a json.py or an http/ package in the task root cannot shadow the
runtime's modules, and the user's `import json` gets the stdlib one from
sys.modules, as in AWS's Python runtime, which also imports its modules before
it adds the task root. A crash before the main loop, even in those imports, is
posted to /runtime/init/error by _startup_crash, which needs none of them.

Per invocation the event (see protocol.go) carries presigned URLs, never
credentials: it GETs each upstream output, calls the operator's callable with
them (in `inputs` order) plus the run parameters the callable names, stores the
result at the presigned PUT URL and answers with a small summary.

The handler is AQUEDUCT_HANDLER="module:callable" (or the first argument).
"""

# os and sys are loaded by the interpreter's own start-up, so these cannot fail.
import os
import sys

API_PREFIX = "/2018-06-01/runtime"
# Where Lambda puts the function's code; the image's WORKDIR (build.TaskRoot).
DEFAULT_TASK_ROOT = "/var/task"

# Error bodies must stay well under Lambda's 6 MB payload limit.
MAX_MESSAGE = 16 * 1024
MAX_TRACE_LINES = 400
MAX_LINE = 2000


def _startup_crash(exc):
    """Reports a failure before the main loop, including one in the runtime's
    own imports: the traceback on stderr (the log tail) and an init error with
    Lambda's error shape, so the invocation fails with a type and a message
    rather than Runtime.Unknown. It needs only builtins, sys, os and _socket
    (traceback if it imports), so it works whichever module failed. Returns
    the exit status."""
    name = type(exc).__name__
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable %s>" % name
    try:
        sys.stderr.write("[ERROR] aqueduct-runtime failed to start: %s: %s\n" % (name, message))
        sys.__excepthook__(type(exc), exc, exc.__traceback__)  # C code: prints the chain and source lines
        sys.stderr.flush()
    except BaseException:
        pass
    try:
        import traceback

        lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).splitlines()
    except BaseException:  # the traceback module may be what failed
        lines = ["Traceback (most recent call last):"]
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            lines.append('  File "%s", line %d, in %s' % (code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        lines.append("%s: %s" % (name, message))
    lines = lines[-MAX_TRACE_LINES:]  # the innermost frames say the most
    body = '{"errorType":%s,"errorMessage":%s,"stackTrace":[%s]}' % (
        _json_str(name),
        _json_str(message[:MAX_MESSAGE]),
        ",".join(_json_str(l[:MAX_LINE]) for l in lines),
    )
    try:
        _post_init_error(os.environ.get("AWS_LAMBDA_RUNTIME_API", ""), name, body.encode("ascii"))
    except BaseException as e:
        try:
            sys.stderr.write("aqueduct-runtime: could not report the init error: %r\n" % (e,))
            sys.stderr.flush()
        except BaseException:
            pass
    return 1


def _json_str(s):
    """A JSON string in ASCII, without the json module."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif 0x20 <= o < 0x7F:
            out.append(ch)
        elif o <= 0xFFFF:
            out.append("\\u%04x" % o)
        else:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    out.append('"')
    return "".join(out)


def _post_init_error(address, error_type, body):
    """POST /init/error over a bare socket: no http.client, socket or json."""
    import _socket

    host, _, port = address.rpartition(":")
    if not host:
        raise ValueError("AWS_LAMBDA_RUNTIME_API %r is not host:port" % address)
    # Bytes skip the IDNA codec that a str host name would load.
    family, kind, proto, _, sockaddr = _socket.getaddrinfo(host.strip("[]").encode(), int(port), 0, _socket.SOCK_STREAM)[0]
    s = _socket.socket(family, kind, proto)
    try:
        s.settimeout(10)
        s.connect(sockaddr)
        head = (
            "POST %s/init/error HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            "Lambda-Runtime-Function-Error-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (API_PREFIX, address, error_type, len(body))
        )
        s.sendall(head.encode("ascii", "replace") + body)
        s.recv(1024)  # the answer: the report has landed before the process exits
    finally:
        s.close()


try:
    import http.client
    import importlib
    import inspect
    import io
    import json
    import pickle
    import socket
    import threading
    import time
    import traceback
    import urllib.parse

    # The stdlib imports these lazily on the runtime's paths; importing them
    # now keeps a task root module of the same name out of those paths.
    import ast  # inspect.signature of some callables (3.8)
    import encodings.idna  # socket.getaddrinfo and http.client encode host names with it
    import unicodedata  # urllib.parse checks non-ASCII netlocs with it
except BaseException as e:
    if __name__ != "__main__":
        raise
    sys.exit(_startup_crash(e))
# From here on, module-level code only defines: it cannot fail.

__version__ = "1.0.0"

EVENT_VERSION = 1
CT_JSON = "application/json"
CT_PICKLE = "application/x-python-pickle"
CT_BYTES = "application/octet-stream"
PREVIEW_LIMIT = 64 * 1024

# Protocol 5 is what every supported Python (3.8+) reads, so operators built
# on different Python versions can still feed each other.
PICKLE_PROTOCOL = 5

CHUNK = 1 << 20
HTTP_ATTEMPTS = 5
RETRY_STATUSES = (500, 502, 503, 504)


class AqueductError(Exception):
    """A failure of the runtime's own work (event, inputs, output), not the user's code."""

    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


class InitError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


# ---------------------------------------------------------------- errors


def _code_file():
    return _code_file.__code__.co_filename


def error_body(exc):
    """Lambda's error shape: errorType, errorMessage, stackTrace (one line each)."""
    lines = _trace(exc)
    if len(lines) > MAX_TRACE_LINES:
        head, tail = MAX_TRACE_LINES // 4, MAX_TRACE_LINES - MAX_TRACE_LINES // 4
        omitted = len(lines) - head - tail
        lines = lines[:head] + ["... %d lines omitted ..." % omitted] + lines[-tail:]
    lines = [l if len(l) <= MAX_LINE else l[:MAX_LINE] + "..." for l in lines]
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable %s>" % type(exc).__name__
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + "..."
    return {
        "errorType": getattr(exc, "error_type", None) or type(exc).__name__,
        "errorMessage": message,
        "stackTrace": lines,
    }


def _trace(exc):
    """The traceback as the user should read it: their frames, not the
    runtime's or importlib's. The runtime's own errors show what caused them."""
    wrapped = isinstance(exc, (AqueductError, InitError))
    if wrapped:
        exc = exc.__cause__
        if exc is None:
            return []
    entries = traceback.format_exception(type(exc), exc, exc.__traceback__)
    internal = (
        '  File "%s"' % _code_file(),
        '  File "<frozen importlib',
        '  File "%s%s' % (os.path.dirname(importlib.__file__), os.sep),
    )
    kept = [e for e in entries if not e.startswith(internal)]
    has_frames = any(e.startswith('  File "') for e in kept)
    if not wrapped and not has_frames:
        kept = entries  # an error in the runtime itself: its frames are the story
    elif not has_frames:
        kept = [e for e in kept if e != "Traceback (most recent call last):\n"]
    return "".join(kept).splitlines()


def log_error(body):
    print("[ERROR] %s: %s" % (body["errorType"], body["errorMessage"]), file=sys.stderr)
    for line in body["stackTrace"]:
        print(line, file=sys.stderr)
    sys.stderr.flush()


# ---------------------------------------------------------------- HTTP


def _remaining(deadline):
    return None if deadline is None else deadline - time.time()


def http_call(method, url, body=None, content_type=None, deadline=None, attempts=HTTP_ATTEMPTS):
    """One request to a presigned URL, retried on 5xx and connection errors.

    Returns (status, headers, data). Bodies are sent from a memoryview in chunks,
    so a large output is streamed without copies.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL: %r" % _redact(url))
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    delay = 0.25
    last = "no time left before the deadline"
    for attempt in range(attempts):
        left = _remaining(deadline)
        if left is not None and left <= 0:
            break
        timeout = 60.0 if left is None else max(1.0, min(60.0, left))
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = cls(parts.netloc, timeout=timeout)
        try:
            status, headers, data = _send(conn, method, target, body, content_type)
        except (OSError, http.client.HTTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        else:
            if status not in RETRY_STATUSES:
                return status, headers, data
            last = "HTTP %d: %s" % (status, _snippet(data))
        finally:
            conn.close()
        if attempt + 1 < attempts:
            left = _remaining(deadline)
            if left is not None and left <= delay:
                break
            time.sleep(delay)
            delay = min(delay * 2, 4.0)
    raise OSError("%s %s failed after retries: %s" % (method, _redact(url), last))


def _send(conn, method, target, body, content_type):
    conn.connect()
    # A large body follows its headers in separate writes; keep Nagle from
    # holding a short last write back until the peer's delayed ACK.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.putrequest(method, target, skip_accept_encoding=True)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
        if content_type:
            conn.putheader("Content-Type", content_type)
    if body is None or len(body) <= CHUNK:
        conn.endheaders(body)  # one write for headers and a small body
    else:
        conn.endheaders()
        view = memoryview(body)
        try:
            for i in range(0, len(view), CHUNK):
                conn.send(view[i : i + CHUNK])
        except OSError as send_error:
            # The server may answer (e.g. 403 expired URL) and close before
            # reading everything; its answer says more than a broken pipe.
            try:
                resp = conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except Exception:
                raise send_error
    resp = conn.getresponse()
    return resp.status, resp.headers, resp.read()


def _snippet(data, n=300):
    text = data[:n].decode("utf-8", "replace") if data else ""
    return " ".join(text.split())


def _redact(url):
    # Presigned query strings are bearer tokens: keep them out of logs and errors.
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# ---------------------------------------------------------------- serialisation


def serialize(value):
    """(content_type, body): bytes as bytes, JSON when JSON holds the value
    faithfully, pickle otherwise."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return CT_BYTES, bytes(value)
    text = None
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        body = text.encode("utf-8")
        # JSON turns tuples into lists and int keys into strings; the next
        # operator should get what this one returned, so such values go as pickle.
        if json.loads(body) == value:
            return CT_JSON, body
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return CT_PICKLE, pickle.dumps(value, protocol=PICKLE_PROTOCOL)
    except Exception as e:
        raise AqueductError(
            "Aqueduct.SerializationError",
            "the result (%s) is neither bytes, JSON nor picklable: %s" % (type(value).__name__, e),
        ) from e


def deserialize(content_type, data):
    base = (content_type or "").split(";")[0].strip().lower()
    if base == CT_JSON:
        return json.loads(data)
    if base == CT_PICKLE:
        return pickle.loads(data)
    return data


# ---------------------------------------------------------------- the handler


def load_handler(spec):
    """Imports "module:callable" (or Lambda's "module.callable")."""
    if not spec:
        raise InitError("Runtime.HandlerNotFound", "no handler: set AQUEDUCT_HANDLER=module:callable")
    if ":" in spec:
        mod_name, _, attr = spec.partition(":")
    else:
        mod_name, _, attr = spec.rpartition(".")
    if not mod_name or not attr:
        raise InitError("Runtime.MalformedHandlerName", "handler %r is not module:callable" % spec)
    try:
        obj = importlib.import_module(mod_name)
    except ImportError as e:
        raise InitError("Runtime.ImportModuleError", "Unable to import module %r: %s" % (mod_name, e)) from e
    except SyntaxError as e:
        raise InitError("Runtime.UserCodeSyntaxError", "Syntax error in module %r: %s" % (mod_name, e)) from e
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise InitError(
                "Runtime.HandlerNotFound", "Handler %r missing on module %r: %s" % (attr, mod_name, e)
            ) from e
    if not callable(obj):
        raise InitError("Runtime.HandlerNotFound", "handler %r is a %s, not callable" % (spec, type(obj).__name__))
    return obj


class Operator:
    """The loaded callable; kept across warm invocations."""

    def __init__(self, fn):
        self.fn = fn
        try:
            self.params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            self.params = None  # no signature (some builtins): positional inputs only

    def kwargs_for(self, npositional, parameters):
        """The run parameters the callable names; all of them for **kwargs."""
        if not self.params or not parameters:
            return {}
        # Names filled by upstream outputs; a positional-only one may still
        # appear in **kwargs, a positional-or-keyword one may not.
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        bound = set()
        n = 0
        for p in self.params:
            if n >= npositional or p.kind not in positional:
                break
            if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD:
                bound.add(p.name)
            n += 1
        named = {p.name for p in self.params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
        var_kw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in self.params)
        out = {}
        for key, value in parameters.items():
            if key in bound:
                continue  # already given positionally by an upstream output
            if key in named or var_kw:
                out[key] = value
        return out

    def invoke(self, event, deadline):
        """Runs one Event; returns the Response JSON text."""
        started = time.monotonic()
        if not isinstance(event, dict):
            raise AqueductError("Aqueduct.BadEvent", "event is a %s, not an object" % type(event).__name__)
        version = event.get("aqueduct")
        if type(version) is not int or version != EVENT_VERSION:
            raise AqueductError(
                "Aqueduct.BadEvent",
                "event version %r; this runtime (%s) speaks version %d" % (version, __version__, EVENT_VERSION),
            )
        output = event.get("output") or {}
        if not output.get("url"):
            raise AqueductError("Aqueduct.BadEvent", "event has no output.url")
        inputs = event.get("inputs") or []
        args = fetch_inputs(inputs, deadline)
        if not inputs and "input" in event:
            args = [event["input"]]
        kwargs = self.kwargs_for(len(args), event.get("parameters") or {})

        result = self.fn(*args, **kwargs)

        content_type, body = serialize(result)
        try:
            status, _, data = http_call("PUT", output["url"], body, content_type, deadline)
        except (OSError, ValueError) as e:
            raise AqueductError("Aqueduct.OutputError", "storing the output: %s" % e) from e
        if status // 100 != 2:
            raise AqueductError(
                "Aqueduct.OutputError",
                "storing the output (%d bytes) at %s: HTTP %d: %s"
                % (len(body), _redact(output["url"]), status, _snippet(data)),
            )
        response = {
            "status": "succeeded",
            "content_type": content_type,
            "size_bytes": len(body),
            "output_uri": output.get("uri", ""),
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        text = json.dumps(response, separators=(",", ":"))
        if content_type == CT_JSON and len(body) < PREVIEW_LIMIT:
            # Embed the stored bytes as they are: the preview is exactly the output.
            text = text[:-1] + ',"preview":' + body.decode("utf-8") + "}"
        return text

    def invoke_plain(self, event):
        """An event that is not Aqueduct's (e.g. a test from the Lambda console):
        the callable gets it as its argument and the JSON result is the answer."""
        result = self.fn(event)
        try:
            return json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise AqueductError(
                "Aqueduct.SerializationError", "a direct invocation's result must be JSON: %s" % e
            ) from e


def fetch_inputs(inputs, deadline):
    """Upstream outputs, in order; fetched in parallel when there are several."""
    results = [None] * len(inputs)
    errors = [None] * len(inputs)

    def fetch(i):
        # Every failure lands in errors: an exception escaping a thread would
        # leave a silent None in the arguments.
        item = inputs[i] if isinstance(inputs[i], dict) else {}
        name = item.get("operator") or "#%d" % i
        try:
            status, headers, data = http_call("GET", item.get("url") or "", None, None, deadline)
            if status != 200:
                raise OSError("HTTP %d: %s" % (status, _snippet(data)))
        except Exception as e:
            errors[i] = AqueductError("Aqueduct.InputError", "fetching input %r: %s" % (name, e))
            errors[i].__cause__ = e
            return
        content_type = item.get("content_type") or headers.get("Content-Type") or CT_BYTES
        try:
            results[i] = deserialize(content_type, data)
        except Exception as e:
            errors[i] = AqueductError(
                "Aqueduct.InputError", "reading input %r (%s): %s: %s" % (name, content_type, type(e).__name__, e)
            )
            errors[i].__cause__ = e

    if len(inputs) == 1:
        fetch(0)
    else:
        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(len(inputs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for e in errors:
        if e is not None:
            raise e
    return results


# ---------------------------------------------------------------- Runtime API


class RuntimeAPI:
    """Client of the Lambda Runtime API (one persistent connection)."""

    def __init__(self, address):
        self.address = address
        self.conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                # No timeout: /invocation/next blocks until there is an event.
                self.conn = http.client.HTTPConnection(self.address)
            try:
                self.conn.request(method, API_PREFIX + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp.headers, resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def next(self):
        status, headers, body = self._request("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError("Runtime API /invocation/next: HTTP %d: %s" % (status, _snippet(body)))
        return headers, body

    def respond(self, request_id, payload):
        return self._request(
            "POST",
            "/invocation/%s/response" % request_id,
            payload.encode("utf-8"),
            {"Content-Type": "application/json"},
        )

    def error(self, request_id, body):
        return self._post_error("/invocation/%s/error" % request_id, body)

    def init_error(self, body):
        return self._post_error("/init/error", body)

    def _post_error(self, path, body):
        return self._request(
            "POST",
            path,
            json.dumps(body).encode("utf-8"),
            {
                "Content-Type": "application/json",
                # Headers are Latin-1; a class name may not be.
                "Lambda-Runtime-Function-Error-Type": body["errorType"].encode("ascii", "replace").decode(),
            },
        )


def handle_one(operator, api, headers, payload):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id", "")
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    deadline = None
    try:
        deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "")) / 1000.0
    except ValueError:
        pass
    try:
        try:
            event = json.loads(payload)
        except ValueError as e:
            raise AqueductError("Aqueduct.BadEvent", "event is not JSON: %s" % e) from e
        if isinstance(event, dict) and "aqueduct" in event:
            answer = operator.invoke(event, deadline)
        else:
            answer = operator.invoke_plain(event)
    except (Exception, SystemExit) as e:
        body = error_body(e)
        log_error(body)
        api.error(request_id, body)
        return
    finally:
        _flush()
    status, _, data = api.respond(request_id, answer)
    if status == 413:
        body = {"errorType": "Aqueduct.ResponseTooLarge", "errorMessage": _snippet(data), "stackTrace": []}
        log_error(body)
        api.error(request_id, body)
    elif status // 100 != 2:
        print("aqueduct-runtime: Runtime API refused the response: HTTP %d: %s" % (status, _snippet(data)), file=sys.stderr)


def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass


def _unbuffer():
    """The user's prints reach the logs as they happen, not when a buffer fills."""
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        try:
            raw = io.FileIO(fd, "w", closefd=False)
            setattr(
                sys,
                name,
                io.TextIOWrapper(raw, encoding=stream.encoding or "utf-8", errors="backslashreplace", write_through=True),
            )
        except Exception:
            pass


def use_task_root(task_root):
    """Puts the task root, then PYTHONPATH's entries, first on sys.path, as a
    plain `python3` with PYTHONPATH=task root would, but only after the
    runtime's imports; -I ignored PYTHONPATH for exactly that. PYTHONPATH gets
    the same list, so the user's subprocesses find the code and the packages
    pip installed there."""
    entries = []
    for p in [task_root] + os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if p and p not in entries:
            entries.append(p)
    sys.path[:] = entries + [p for p in sys.path if p not in entries]
    os.environ["PYTHONPATH"] = os.pathsep.join(entries)


def main(argv):
    """Starts up, then serves invocations until the process is stopped; it
    returns an exit status only when start-up ends it."""
    try:
        if "--version" in argv[1:]:
            print("aqueduct-runtime %s (event version %d, python %s)" % (__version__, EVENT_VERSION, sys.version.split()[0]))
            return 0
        _unbuffer()  # -I ignores PYTHONUNBUFFERED
        address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            print("aqueduct-runtime: AWS_LAMBDA_RUNTIME_API is not set; this runs inside AWS Lambda", file=sys.stderr)
            return 2
        use_task_root(os.environ.get("LAMBDA_TASK_ROOT") or DEFAULT_TASK_ROOT)
        api = RuntimeAPI(address)
        spec = argv[1] if len(argv) > 1 else os.environ.get("AQUEDUCT_HANDLER", "")
        try:
            operator = Operator(load_handler(spec))
        except BaseException as e:  # the user's module may raise anything at import
            body = error_body(e)
            log_error(body)
            api.init_error(body)
            return 1
    except BaseException as e:
        return _startup_crash(e)
    while True:
        headers, payload = api.next()
        handle_one(operator, api, headers, payload)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
