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

A server event (version 2, see server.go: a run on Step Functions) carries no
URLs: the runtime reads and writes the artifact store itself, with requests
signed (SigV4) with the function's role credentials from its environment.
It checks the operator's lineage against its manifest, answers from the result
cache when the cache has the output, else calls the operator and records what
it made; or, for the run's last Task, writes the run record.

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
    import datetime
    import hashlib
    import hmac
    import http.client
    import importlib
    import inspect
    import io
    import json
    import pickle
    import posixpath
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

__version__ = "1.1.0"

EVENT_VERSION = 1
# Server-side runs (Step Functions): the runtime reads and writes the store itself.
EVENT_VERSION_SERVER = 2
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


def http_call(
    method, url, body=None, content_type=None, deadline=None, attempts=HTTP_ATTEMPTS,
    headers=None, retryable=None, describe=None,
):
    """One request to a presigned URL, retried on 5xx and connection errors.

    Returns (status, headers, data). Bodies are sent from a memoryview in chunks,
    so a large output is streamed without copies.

    A signed S3 request (see S3) adds its headers (Host among them: it is
    signed, so it is sent exactly as given), says which answers are worth
    another try (retryable(status, data); by default RETRY_STATUSES) and how
    a failed answer reads in the error (describe(status, headers, data)),
    so that no response body that could echo a credential reaches it.
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
            status, resp_headers, data = _send(conn, method, target, body, content_type, headers)
        except (OSError, http.client.HTTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        else:
            if not (retryable(status, data) if retryable else status in RETRY_STATUSES):
                return status, resp_headers, data
            last = describe(status, resp_headers, data) if describe else "HTTP %d: %s" % (status, _snippet(data))
        finally:
            conn.close()
        if attempt + 1 < attempts:
            left = _remaining(deadline)
            if left is not None and left <= delay:
                break
            time.sleep(delay)
            delay = min(delay * 2, 4.0)
    raise OSError("%s %s failed after retries: %s" % (method, _redact(url), last))


def _send(conn, method, target, body, content_type, headers=None):
    conn.connect()
    # A large body follows its headers in separate writes; keep Nagle from
    # holding a short last write back until the peer's delayed ACK.
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = headers or {}
    conn.putrequest(method, target, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
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

    def accepts(self, npositional):
        """(names, all): the run parameters the callable can take by name once
        npositional upstream outputs fill its first parameters, and whether
        it takes any other name too (**kwargs). A run's cache key covers
        exactly these, so a parameter the callable does not take never reruns
        it."""
        names, var_kw, _ = self._signature(npositional)
        return sorted(names), var_kw

    def _signature(self, npositional):
        if not self.params:
            return set(), False, set()
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        # Names filled by upstream outputs; a positional-only one may still
        # appear in **kwargs, a positional-or-keyword one may not.
        bound = set()
        n = 0
        for p in self.params:
            if n >= npositional or p.kind not in positional:
                break
            if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD:
                bound.add(p.name)
            n += 1
        keywordable = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        names = {p.name for p in self.params if p.kind in keywordable and p.name not in bound}
        var_kw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in self.params)
        return names, var_kw, bound

    def kwargs_for(self, npositional, parameters):
        """The run parameters the callable names; all of them for **kwargs,
        but never one an upstream output already fills."""
        if not parameters:
            return {}
        names, var_kw, bound = self._signature(npositional)
        return {k: v for k, v in parameters.items() if k not in bound and (var_kw or k in names)}

    def invoke(self, event, deadline):
        """Runs one Event (a ServerEvent: see serve); returns the answer's JSON text."""
        started = time.monotonic()
        if not isinstance(event, dict):
            raise AqueductError("Aqueduct.BadEvent", "event is a %s, not an object" % type(event).__name__)
        version = event.get("aqueduct")
        if type(version) is int and version == EVENT_VERSION_SERVER:
            return serve(self, event, deadline)
        if type(version) is not int or version != EVENT_VERSION:
            raise AqueductError(
                "Aqueduct.BadEvent",
                "event version %r; this runtime (%s) speaks versions %d and %d"
                % (version, __version__, EVENT_VERSION, EVENT_VERSION_SERVER),
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
        names, var_kw = self.accepts(len(args))
        response = {
            "status": "succeeded",
            "content_type": content_type,
            "size_bytes": len(body),
            "output_uri": output.get("uri", ""),
            "duration_ms": int((time.monotonic() - started) * 1000),
            "accepts": {"names": names, "all": var_kw},
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


# ---------------------------------------------------------------- S3 with the function's own credentials

# Server-side runs (event version 2, see server.go) carry no presigned URLs:
# the runtime reads and writes the artifact store itself, signing each
# request with the function's role credentials (SigV4). Only what it needs:
# GET, PUT and HEAD of one object.

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# S3 takes at most 5 GiB in one PUT.
S3_MAX_PUT = 5 * 1024 * 1024 * 1024


class Credentials:
    """The function's role credentials, as Lambda puts them in its
    environment. They never reach a log, an error or an answer: repr hides
    them, and scrub takes them out of any text that might echo them."""

    def __init__(self, access_key, secret_key, token=""):
        self.access_key = access_key
        self.secret_key = secret_key
        self.token = token

    @classmethod
    def from_env(cls, environ):
        access = environ.get("AWS_ACCESS_KEY_ID", "")
        secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
        missing = [name for name, value in (("AWS_ACCESS_KEY_ID", access), ("AWS_SECRET_ACCESS_KEY", secret)) if not value]
        if missing:
            raise AqueductError(
                "Aqueduct.CredentialsError",
                "%s not set: a server-side run reads and writes the artifact store with the function's role "
                "credentials, which Lambda puts in the environment" % " and ".join(missing),
            )
        return cls(access, secret, environ.get("AWS_SESSION_TOKEN", ""))

    def scrub(self, text):
        for value in (self.secret_key, self.token, self.access_key):
            if value:
                text = text.replace(value, "***")
        return text

    def __repr__(self):
        return "Credentials(<hidden>)"


def _uri_encode(text, safe):
    """SigV4's URI encoding: UTF-8, every byte but the unreserved characters
    (A-Z a-z 0-9 - _ . ~) and those in safe as %XX, in upper case."""
    return urllib.parse.quote(text, safe=safe)


def canonical_query(pairs):
    """SigV4's canonical query string of (name, value) pairs, not yet encoded."""
    encoded = sorted((_uri_encode(k, ""), _uri_encode(v, "")) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in encoded)


def _signing_key(secret_key, date, region, service):
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign_v4(method, path, query, headers, payload_hash, creds, region, service, amz_date):
    """The Authorization header of a request, by AWS Signature Version 4.

    path is the URI path exactly as sent, already encoded (S3 encodes each
    segment once, so its canonical URI is the path as sent); query is a list
    of (name, value) pairs, not encoded; headers maps each header to sign
    (host and x-amz-date among them) to its value. Values are trimmed and
    their runs of spaces made one, names lower-cased, as SigV4 says."""
    canon = {}
    for name, value in headers.items():
        canon[name.strip().lower()] = " ".join(part for part in str(value).strip().split(" ") if part)
    names = sorted(canon)
    signed = ";".join(names)
    canonical_request = "\n".join(
        [
            method,
            path,
            canonical_query(query),
            "".join("%s:%s\n" % (name, canon[name]) for name in names),
            signed,
            payload_hash,
        ]
    )
    date = amz_date[:8]
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    signature = hmac.new(
        _signing_key(creds.secret_key, date, region, service), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    return "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (creds.access_key, scope, signed, signature)


def _virtual_hostable(bucket):
    """Whether the bucket can be a host name label under a wildcard TLS
    certificate: no dots, no upper case, 3 to 63 characters."""
    allowed = "abcdefghijklmnopqrstuvwxyz0123456789-"
    return 3 <= len(bucket) <= 63 and all(c in allowed for c in bucket) and bucket[0] != "-" and bucket[-1] != "-"


def s3_base_url(bucket, region, endpoint, environ):
    """The URL that an object's URI-encoded key is appended to (after a "/").

    The endpoint is the event's store.endpoint, else AWS_ENDPOINT_URL_S3,
    else AWS_ENDPOINT_URL (the variables the AWS SDKs read), else AWS's
    regional endpoint. An endpoint override is a local or compatible S3, and
    those serve buckets by path: path-style. AWS's own endpoint is addressed
    virtual-hosted, as AWS asks, unless the bucket's name cannot be a host
    name under S3's wildcard certificate (it has dots): path-style then."""
    override = endpoint or environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    if override:
        parts = urllib.parse.urlsplit(override)
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.query:
            # Without what could be a password: user info, query.
            shown = "%s://%s%s" % (parts.scheme, parts.netloc.rpartition("@")[2], parts.path)
            raise AqueductError(
                "Aqueduct.BadEvent",
                "S3 endpoint %r is not an http(s) URL with a host, and no user or query" % shown,
            )
        return "%s://%s%s/%s" % (parts.scheme, parts.netloc, parts.path.rstrip("/"), bucket)
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if _virtual_hostable(bucket):
        return "https://%s.s3.%s.%s" % (bucket, region, domain)
    return "https://s3.%s.%s/%s" % (region, domain, bucket)


def _xml_text(data, tag, limit=500):
    """The text of the first <tag> in an S3 error document, or ""."""
    if not data:
        return ""
    text = data[:8192].decode("utf-8", "replace")
    start = text.find("<%s>" % tag)
    end = text.find("</%s>" % tag, start + 1)
    if start < 0 or end < 0:
        return ""
    value = text[start + len(tag) + 2 : end]
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        value = value.replace(entity, char)
    return " ".join(value.split())[:limit]


def s3_error_text(status, headers, data):
    """S3's answer as an error says it: its code and message, never the rest
    of its body (SignatureDoesNotMatch echoes the canonical request, session
    token and all)."""
    code = _xml_text(data, "Code") or (headers.get("x-amz-error-code") if headers is not None else "") or ""
    message = _xml_text(data, "Message")
    reason = http.client.responses.get(status, "")
    text = code or reason or "error"
    if message:
        text += ": " + message
    text += " (HTTP %d)" % status
    region = headers.get("x-amz-bucket-region") if headers is not None else None
    if region:
        text += "; the bucket is in region %s" % region
    return text


def _s3_retryable(status, data):
    # 5xx, 503 SlowDown among them, and a request S3 timed out reading.
    return status in RETRY_STATUSES or (status == 400 and _xml_text(data, "Code") == "RequestTimeout")


class NotJSON(AqueductError):
    """An object that should be a JSON object and is not."""

    def __init__(self, message):
        super().__init__("Aqueduct.StoreError", message)


# What S3 answers for an object it will not show: without s3:ListBucket on
# the bucket, a missing object is 403 AccessDenied, not 404.
DENIED_HINT = "; S3 answers 403 for a missing object too when the function's role may not s3:ListBucket the bucket"


class S3:
    """One bucket, through requests signed with the function's credentials
    and retried by http_call."""

    def __init__(self, bucket, region, base_url, creds, clock=time.time):
        parts = urllib.parse.urlsplit(base_url)
        self.bucket = bucket
        self.region = region
        self.creds = creds
        self.clock = clock
        self.scheme = parts.scheme
        self.host = parts.netloc
        # Host is signed, so it is sent as signed: without the default port,
        # as the SDKs and S3 write it.
        default = {"http": ":80", "https": ":443"}[parts.scheme]
        if self.host.endswith(default):
            self.host = self.host[: -len(default)]
        self.base_path = parts.path

    def uri(self, key):
        return "s3://%s/%s" % (self.bucket, key)

    def _request(self, method, key, body=None, content_type=None, deadline=None):
        path = "%s/%s" % (self.base_path, _uri_encode(key, "/"))
        # The payload is signed: S3 then checks the bytes it stores against
        # the hash, which TLS alone does not promise end to end (an endpoint
        # override may be plain HTTP). The body is in memory already, and
        # hashing it is one pass over a memoryview, no copy.
        payload_hash = EMPTY_SHA256 if not body else hashlib.sha256(memoryview(body)).hexdigest()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.clock()))
        signed = {"host": self.host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
        if content_type:
            signed["content-type"] = content_type
        if self.creds.token:
            signed["x-amz-security-token"] = self.creds.token
        headers = {
            "Host": self.host,
            "X-Amz-Date": amz_date,
            "X-Amz-Content-SHA256": payload_hash,
            "Authorization": sign_v4(method, path, [], signed, payload_hash, self.creds, self.region, "s3", amz_date),
        }
        if content_type:
            headers["Content-Type"] = content_type
        if self.creds.token:
            headers["X-Amz-Security-Token"] = self.creds.token
        url = "%s://%s%s" % (self.scheme, self.host, path)
        try:
            # One signature serves every attempt: S3 takes it for 15 minutes,
            # more than http_call's attempts can last.
            return http_call(
                method, url, body, None, deadline, headers=headers, retryable=_s3_retryable, describe=s3_error_text
            )
        except (OSError, ValueError) as e:
            raise self._error("%s %s: %s" % (method, self.uri(key), e)) from None

    def _error(self, message):
        return AqueductError("Aqueduct.StoreError", self.creds.scrub(message))

    def _failed(self, method, key, status, headers, data):
        text = s3_error_text(status, headers, data)
        if status == 403 and method in ("GET", "HEAD") and _xml_text(data, "Code") in ("AccessDenied", ""):
            text += DENIED_HINT
        return self._error("%s %s: %s" % (method, self.uri(key), text))

    def get(self, key, deadline, denied_is_missing=False):
        """(data, content type), or None when there is no object at key.
        With denied_is_missing, 403 is taken for a missing object too (see
        DENIED_HINT): for reads whose miss only costs a recomputation."""
        status, headers, data = self._request("GET", key, deadline=deadline)
        if status == 200:
            return data, headers.get("Content-Type")
        code = _xml_text(data, "Code")
        if (status == 404 and code != "NoSuchBucket") or (status == 403 and denied_is_missing):
            return None
        raise self._failed("GET", key, status, headers, data)

    def get_json(self, key, deadline, denied_is_missing=False):
        """The JSON object at key, or None when there is none; NotJSON when
        the object is something else."""
        got = self.get(key, deadline, denied_is_missing)
        if got is None:
            return None
        try:
            value = json.loads(got[0])
        except ValueError as e:
            raise NotJSON("reading %s: not JSON: %s" % (self.uri(key), e)) from None
        if not isinstance(value, dict):
            raise NotJSON("reading %s: a JSON %s, not an object" % (self.uri(key), type(value).__name__))
        return value

    def exists(self, key, deadline):
        """Whether an object is at key; a 403 is taken for a missing one."""
        status, headers, data = self._request("HEAD", key, deadline=deadline)
        if status == 200:
            return True
        if status in (403, 404):
            return False
        raise self._failed("HEAD", key, status, headers, data)

    def put(self, key, body, content_type, deadline):
        if len(body) > S3_MAX_PUT:
            raise self._error(
                "PUT %s: %d bytes; S3 takes at most %d in one PUT" % (self.uri(key), len(body), S3_MAX_PUT)
            )
        status, headers, data = self._request("PUT", key, body, content_type, deadline)
        if status // 100 != 2:
            raise self._failed("PUT", key, status, headers, data)

    def put_json(self, key, text, deadline):
        self.put(key, text.encode("utf-8"), CT_JSON, deadline)


# ---------------------------------------------------------------- the artifact store's keys (package artifacts)


def _join(*parts):
    """Go's path.Join: the non-empty parts joined by "/", then cleaned."""
    joined = "/".join(p for p in parts if p)
    if not joined:
        return ""
    cleaned = posixpath.normpath(joined)
    if cleaned.startswith("//"):  # POSIX keeps two leading slashes; Go does not
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _hex(h):
    """A hash as keys carry it: without its "sha256:" prefix."""
    return h[len("sha256:") :] if h.startswith("sha256:") else h


def operator_key(root, workflow, operator):
    return _join(root, "workflows", workflow, "operators", operator + ".json")


def run_key(root, workflow, run_id):
    return _join(root, "workflows", workflow, "runs", run_id, "run.json")


def run_output_key(root, workflow, run_id, operator):
    return _join(root, "workflows", workflow, "runs", run_id, "outputs", operator)


def accepts_key(root, workflow, lineage):
    return _join(root, "workflows", workflow, "cache", "accepts", _hex(lineage) + ".json")


def result_key(root, workflow, key):
    return _join(root, "workflows", workflow, "cache", "results", _hex(key), "result.json")


def cached_output_key(root, workflow, key):
    return _join(root, "workflows", workflow, "cache", "results", _hex(key), "output")


# The hash of the JSON null: a parameter the run does not set (runtime.NullHash).
NULL_HASH = "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"


def cache_key(lineage, names, all_names, param_hashes, input_hash, upstream):
    """runtime.CacheKey, byte for byte: the SHA-256 of a line-oriented text
    made of hashes only, so that Go and Python agree without encoding JSON
    the same way. param_hashes maps each run parameter to the hex SHA-256 of
    its canonical JSON; input_hash is "" without a direct input."""
    lines = ["aqueduct-cache-key/v1", "lineage %s" % lineage]
    if all_names:
        lines.append("parameters all")
        names = list(param_hashes)
    else:
        lines.append("parameters named")
    for name in sorted(names or ()):  # code point order is UTF-8's byte order, Go's
        lines.append("parameter %s %s" % (name, param_hashes.get(name, NULL_HASH)))
    lines.append("input %s" % input_hash if input_hash else "input -")
    for key in upstream or ():
        lines.append("upstream %s" % key)
    text = "\n".join(lines) + "\n"
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- server-side runs (event version 2)

STATUS_DONE = ("succeeded", "cached")


def _rfc3339(ts):
    """A time as Go's time.Time reads it from JSON."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    """Seconds since the epoch of an RFC 3339 time (Step Functions'
    $$.Execution.StartTime, Go's time.Time in JSON), or None."""
    if not isinstance(text, str) or len(text) < 20:
        return None
    if text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":" or text[16] != ":":
        return None
    try:
        base = datetime.datetime(
            int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19]),
            tzinfo=datetime.timezone.utc,
        )
        rest, fraction = text[19:], 0.0
        if rest.startswith("."):
            digits = len(rest) - len(rest[1:].lstrip("0123456789")) - 1
            if digits == 0:
                return None
            fraction = int(rest[1 : 1 + digits]) / 10.0 ** digits
            rest = rest[1 + digits :]
        if rest in ("Z", "z"):
            offset = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            offset = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (1 if rest[0] == "+" else -1)
        else:
            return None
    except ValueError:
        return None
    return base.timestamp() + fraction - offset


def _warn(text):
    print("[WARN] aqueduct-runtime: %s" % text, file=sys.stderr)


def _bad(message):
    return AqueductError("Aqueduct.BadEvent", message)


def _name(value, what):
    """A name that goes into a key: one path segment."""
    if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
        raise _bad("event's %s is %r, not a name" % (what, value))
    return value


def _object(event, field):
    value = event.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("event's %s is a %s, not an object" % (field, type(value).__name__))
    return value


class ServerRun:
    """What every server event says: the store, reached with the function's
    credentials, and which run this is."""

    def __init__(self, event, environ):
        store = event.get("store")
        if not isinstance(store, dict):
            raise _bad("event has no store")
        bucket = store.get("bucket")
        if not isinstance(bucket, str) or not bucket:
            raise _bad("event's store has no bucket")
        self.root = (store.get("root") or "").strip("/")
        self.workflow = _name(store.get("workflow"), "store.workflow")
        region = store.get("region") or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if not isinstance(region, str) or not region:
            raise _bad("event's store has no region, and AWS_REGION is not set")
        run = _object(event, "run")
        # A scheduled run has no id of its own: the execution's name is.
        self.run_id = _name(run.get("id") or event.get("execution_name"), "run.id (or execution_name)")
        self.run = run
        self.rerun = run.get("rerun") is True
        creds = Credentials.from_env(environ)
        self.s3 = S3(bucket, region, s3_base_url(bucket, region, store.get("endpoint"), environ), creds)


def serve(operator, event, deadline, environ=None):
    """Answers a server event (see server.go): an operator's, or the record's."""
    environ = os.environ if environ is None else environ
    if event.get("record") is True:
        return write_record(event, deadline, environ)
    return serve_operator(operator, event, deadline, environ)


def serve_operator(op, event, deadline, environ):
    """An operator's Task: its output from the cache when the cache has it,
    else by calling it. Answers a ServerResult: where the output is, never
    the output itself (Step Functions keeps at most 256 KB of state)."""
    started, clock = time.time(), time.monotonic()
    run = ServerRun(event, environ)
    s3, root, workflow = run.s3, run.root, run.workflow
    name = _name(event.get("operator"), "operator")
    lineage = event.get("lineage")
    if not isinstance(lineage, str) or not lineage:
        raise _bad("event for operator %r has no lineage" % name)
    inputs = event.get("inputs") or []
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise _bad("event's inputs are not a list of operator names")
    input_results = _object(event, "input_results")
    parameters = _object(event, "parameters")
    hashes = _object(event, "parameter_hashes")
    # A parameter without its hash would key the cache as if it were unset.
    for pname in sorted(set(parameters) | set(hashes)):
        h = hashes.get(pname)
        if not isinstance(h, str) or len(h) != 64 or h.strip("0123456789abcdef"):
            raise _bad("parameter %r has no hex SHA-256 in parameter_hashes (got %r)" % (pname, h))

    # 1. The operator must still be what the run was planned with.
    key = operator_key(root, workflow, name)
    manifest = s3.get_json(key, deadline)
    if manifest is None:
        raise AqueductError(
            "Aqueduct.StaleLineage",
            "operator %r has no manifest at %s: it was deleted after the run was planned or scheduled; "
            "apply the workflow again" % (name, s3.uri(key)),
        )
    if manifest.get("lineage") != lineage:
        raise AqueductError(
            "Aqueduct.StaleLineage",
            "operator %r is now %s (its manifest at %s), but the run was planned with %s: it changed after the run "
            "was planned or scheduled; plan the run again"
            % (name, manifest.get("lineage") or "unknown", s3.uri(key), lineage),
        )
    me, theirs = environ.get("AWS_LAMBDA_FUNCTION_NAME"), manifest.get("function_name")
    if me and theirs and me != theirs:
        raise AqueductError(
            "Aqueduct.FunctionChanged",
            "this is function %s, but operator %r runs as %s (its manifest at %s): the state machine invokes another "
            "function than the operator's; apply the workflow again" % (me, name, theirs, s3.uri(key)),
        )

    # 2. The cache, when what the lineage takes is known.
    known = _read_accepts(s3, accepts_key(root, workflow, lineage), deadline)
    upstream = []
    for upstream_name in inputs:
        res = input_results.get(upstream_name)
        upstream.append((res.get("cache_key") or "") if isinstance(res, dict) else "")
    cache = ""
    if known is not None and all(upstream):
        cache = cache_key(lineage, known[0], known[1], hashes, "", upstream)
    if cache and not run.rerun:
        hit = _cached(s3, root, workflow, cache, deadline)
        if hit is not None:
            answer = _result(
                "cached", started, clock, cache_key=cache, cached_from=hit.get("run_id") or "",
                output_key=hit["output_key"], content_type=hit.get("content_type") or CT_BYTES,
                size_bytes=_int(hit.get("size_bytes")),
            )
            return json.dumps(answer, separators=(",", ":"))

    # 3. Call it.
    args = fetch_store_inputs(s3, inputs, input_results, deadline)
    kwargs = op.kwargs_for(len(args), parameters)
    result = op.fn(*args, **kwargs)
    content_type, body = serialize(result)
    if cache and not run.rerun:
        out_key = cached_output_key(root, workflow, cache)
    else:
        # Not known beforehand, or a rerun: the output goes to the run's own
        # folder, never over an object an earlier run's record names.
        out_key = run_output_key(root, workflow, run.run_id, name)
    try:
        s3.put(out_key, body, content_type, deadline)
    except AqueductError as e:
        raise AqueductError("Aqueduct.OutputError", "storing the output (%d bytes): %s" % (len(body), e)) from None

    names, var_kw = op.accepts(len(args))
    if known != (names, var_kw):
        try:
            s3.put_json(accepts_key(root, workflow, lineage), json.dumps({"names": names, "all": var_kw}), deadline)
        except AqueductError as e:
            _warn("what operator %r takes was not recorded, so the next run calls it again: %s" % (name, e))
    if not cache and all(upstream):
        cache = cache_key(lineage, names, var_kw, hashes, "", upstream)
    answer = _result(
        "succeeded", started, clock, cache_key=cache, output_key=out_key, content_type=content_type, size_bytes=len(body)
    )
    if cache:
        record = {
            "run_id": run.run_id,
            "output_key": out_key,
            "content_type": content_type,
            "size_bytes": len(body),
            "preview": _Raw(body.decode("utf-8")) if content_type == CT_JSON and len(body) < PREVIEW_LIMIT else None,
            "finished_at": answer["finished_at"],
            "duration_ms": answer["duration_ms"],
        }
        if record["preview"] is None:
            del record["preview"]
        try:
            s3.put_json(result_key(root, workflow, cache), dumps_raw(record), deadline)
        except AqueductError as e:
            _warn("operator %r's output was not recorded in the cache, so the next run calls it again: %s" % (name, e))
    return json.dumps(answer, separators=(",", ":"))


def _int(value):
    return value if type(value) is int else 0


def _result(status, started, clock, **fields):
    """A ServerResult (runtime.ServerResult), its times last."""
    answer = {"status": status}
    answer.update((k, v) for k, v in fields.items() if v not in ("", None))
    elapsed = time.monotonic() - clock
    answer["started_at"] = _rfc3339(started)
    answer["finished_at"] = _rfc3339(started + elapsed)
    answer["duration_ms"] = int(elapsed * 1000)
    return answer


def _read_accepts(s3, key, deadline):
    """(sorted names, all) that a lineage takes, or None while unknown."""
    try:
        doc = s3.get_json(key, deadline, denied_is_missing=True)
    except NotJSON as e:
        _warn("%s; taken for unknown" % e)
        return None
    if doc is None:
        return None
    names, var_kw = doc.get("names") or [], doc.get("all")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not isinstance(var_kw, bool):
        _warn("%s is not what a lineage takes; taken for unknown" % s3.uri(key))
        return None
    return sorted(names), var_kw


def _cached(s3, root, workflow, key, deadline):
    """The CachedResult at the key when its output is still stored, else None."""
    rkey = result_key(root, workflow, key)
    try:
        res = s3.get_json(rkey, deadline, denied_is_missing=True)
    except NotJSON as e:
        _warn("%s; taken for a miss" % e)
        return None
    if res is None or not isinstance(res.get("output_key"), str) or not res["output_key"]:
        return None
    if not s3.exists(res["output_key"], deadline):
        return None  # deleted since, or expired by a lifecycle rule
    return res


def fetch_store_inputs(s3, names, input_results, deadline):
    """The upstream outputs, in inputs order, read from where their results
    say; in parallel when there are several."""
    results = [None] * len(names)
    errors = [None] * len(names)

    def fetch(i):
        name = names[i]
        res = input_results.get(name)
        if not isinstance(res, dict) or res.get("status") not in STATUS_DONE or not res.get("output_key"):
            status = res.get("status") if isinstance(res, dict) else None
            errors[i] = AqueductError(
                "Aqueduct.InputError",
                "input %r has no output in the event (its result: %s); the state machine must run it first"
                % (name, status or "none"),
            )
            return
        key = res["output_key"]
        try:
            got = s3.get(key, deadline)
        except AqueductError as e:
            errors[i] = AqueductError("Aqueduct.InputError", "fetching input %r: %s" % (name, e))
            return
        if got is None:
            errors[i] = AqueductError(
                "Aqueduct.InputError",
                "fetching input %r: no object at %s; it was deleted after %r ran" % (name, s3.uri(key), name),
            )
            return
        data, header_type = got
        content_type = res.get("content_type") or header_type or CT_BYTES
        try:
            results[i] = deserialize(content_type, data)
        except Exception as e:
            errors[i] = AqueductError(
                "Aqueduct.InputError", "reading input %r (%s): %s: %s" % (name, content_type, type(e).__name__, e)
            )
            errors[i].__cause__ = e

    _run_all(len(names), fetch)
    for e in errors:
        if e is not None:
            raise e
    return results


class _Raw:
    """JSON text that dumps_raw embeds as it is."""

    def __init__(self, text):
        self.text = text


def dumps_raw(value, indent=None):
    """json.dumps, with each _Raw's text embedded as it is: an output stored
    as JSON goes into a record byte for byte."""
    raws = []
    token = os.urandom(8).hex()

    def default(o):
        if isinstance(o, _Raw):
            raws.append(o.text)
            return "\x00%s:%d\x00" % (token, len(raws) - 1)
        raise TypeError("%s is not JSON" % type(o).__name__)

    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(value, default=default, ensure_ascii=False, indent=indent, separators=separators)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps("\x00%s:%d\x00" % (token, i), ensure_ascii=False), raw, 1)
    return text


def error_record(error):
    """run.ErrorRecord from Step Functions' error of a failed Task: Cause is
    the function's error document (errorType, errorMessage, stackTrace) for
    a function error, plain text for States.Timeout and the like."""
    if not isinstance(error, dict):
        return {"type": "Aqueduct.UnknownError", "message": "the operator failed and Step Functions gave no error"}
    kind, cause = error.get("Error"), error.get("Cause")
    doc = cause
    if isinstance(cause, str):
        try:
            doc = json.loads(cause)
        except ValueError:
            doc = None
    if isinstance(doc, dict) and isinstance(doc.get("errorType"), str) and doc["errorType"]:
        message = doc.get("errorMessage")
        if not isinstance(message, str):
            message = "" if message is None else json.dumps(message)
        record = {"type": doc["errorType"], "message": message}
        trace = doc.get("stackTrace")
        if isinstance(trace, list) and trace:
            record["traceback"] = "\n".join(str(line).rstrip("\n") for line in trace)
        return record
    if cause is None:
        cause = ""
    elif not isinstance(cause, str):
        cause = json.dumps(cause)
    return {"type": kind if isinstance(kind, str) and kind else "States.TaskFailed", "message": cause[:MAX_MESSAGE]}


def write_record(event, deadline, environ):
    """The record Task: the run record at artifacts.RunKey, in the format of
    run.Record whoever ran the run, and a RecordAnswer."""
    now = time.time()
    run = ServerRun(event, environ)
    s3 = run.s3
    workflow = run.run.get("workflow") or run.workflow
    if workflow != run.workflow:
        raise _bad("the run is of workflow %r but its store is workflow %r's" % (workflow, run.workflow))
    results = _object(event, "results")
    infos = _object(event, "operators")
    parameters = _object(event, "parameters")
    targets = event.get("targets") or []
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise _bad("event's targets are not a list of operator names")

    names = sorted(set(infos) | set(results))
    operators = {}
    for name in names:
        info = infos.get(name) if isinstance(infos.get(name), dict) else {}
        operators[name] = _operator_record(s3, name, info, results.get(name))
    warnings = []
    _fill_from_store(run, names, operators, warnings, deadline)
    for op in operators.values():
        for field in OMIT_EMPTY:
            if op.get(field, 0) in ("", None):
                del op[field]

    started = parse_time(event.get("started_at"))
    if started is None:
        times = [parse_time(op.get("started_at")) for op in operators.values()]
        started = min([t for t in times if t is not None] or [now])
    failed = [name for name in names if operators[name]["status"] == "failed"]
    status = "succeeded" if all(op["status"] in STATUS_DONE for op in operators.values()) else "failed"
    record = {
        "id": run.run_id,
        "workflow": workflow,
        "targets": targets,
        "identity": run.run.get("identity") or "",
        "status": status,
        "started_at": _rfc3339(started),
        "finished_at": _rfc3339(now),
        "duration_ms": max(0, int((now - started) * 1000)),
        "parameters": parameters,
        "operators": operators,
        "invoked": sum(1 for op in operators.values() if op["status"] == "succeeded"),
        "warnings": warnings,
    }
    for field in ("targets", "parameters", "warnings"):  # omitempty in run.Record
        if not record[field]:
            del record[field]
    body = dumps_raw(record, indent=2)
    s3.put_json(run_key(run.root, run.workflow, run.run_id), body, deadline)
    # A succeeded rerun (every scheduled run is one) becomes what its
    # identity's record points at, as run.Execute does, so a later run with
    # the same handles reads the latest results.
    base = run.run.get("base_id")
    if run.rerun and status == "succeeded" and isinstance(base, str) and base and base != run.run_id:
        s3.put_json(run_key(run.root, run.workflow, _name(base, "run.base_id")), body, deadline)
    return json.dumps({"status": status, "failed": failed}, separators=(",", ":"))


# The fields of run.OperatorRecord that are left out when empty.
OMIT_EMPTY = (
    "lineage", "cache_key", "cached_from", "output_key", "output_uri", "content_type", "output", "error", "skipped_because",
)


def _operator_record(s3, name, info, res):
    """run.OperatorRecord from an operator's result, its fields in that order."""
    if not isinstance(res, dict):
        res = {"status": "skipped", "skipped_because": "the execution has no result for it"}
    status = res.get("status")
    if status not in ("succeeded", "cached", "failed", "skipped"):
        res = {"status": "failed", "error": {"Error": "Aqueduct.BadResult", "Cause": "its result has status %r" % (status,)}}
        status = "failed"
    op = {"status": status}
    for field in ("started_at", "finished_at"):
        if parse_time(res.get(field)) is not None:
            op[field] = res[field]
    op["duration_ms"] = _int(res.get("duration_ms"))
    op["function_name"] = info.get("function_name") or ""
    op["image_uri"] = ""
    op["lineage"] = info.get("lineage") or ""
    for field in ("cache_key", "cached_from", "output_key"):
        op[field] = res.get(field) if isinstance(res.get(field), str) else ""
    op["output_uri"] = s3.uri(op["output_key"]) if op["output_key"] else ""
    op["content_type"] = res.get("content_type") if isinstance(res.get("content_type"), str) else ""
    op["size_bytes"] = _int(res.get("size_bytes"))
    op["output"] = None
    op["error"] = error_record(res.get("error")) if status == "failed" else None
    because = res.get("skipped_because")
    op["skipped_because"] = because if status == "skipped" and isinstance(because, str) else ""
    return op


def _fill_from_store(run, names, operators, warnings, deadline):
    """What the results leave out: each output that is JSON under
    PREVIEW_LIMIT, read back as it is stored, and each operator's image, from
    its manifest when that still has the run's lineage. In parallel."""
    s3 = run.s3
    notes = [None] * len(names)

    def fill(i):
        name = names[i]
        op = operators[name]
        found = []
        try:
            manifest = s3.get_json(operator_key(run.root, run.workflow, name), deadline, denied_is_missing=True)
            if manifest is not None and op["lineage"] and manifest.get("lineage") == op["lineage"]:
                op["image_uri"] = manifest.get("image_uri") or ""
        except AqueductError as e:
            found.append("its image is unknown: %s" % e)
        small_json = op["content_type"] == CT_JSON and op["size_bytes"] < PREVIEW_LIMIT
        if op["status"] in STATUS_DONE and small_json and op["output_key"]:
            try:
                got = s3.get(op["output_key"], deadline, denied_is_missing=True)
                if got is None:
                    found.append("its output %s is gone" % op["output_uri"])
                elif len(got[0]) < PREVIEW_LIMIT:
                    text = got[0].decode("utf-8")
                    json.loads(text)
                    op["output"] = _Raw(text)
            except (AqueductError, ValueError) as e:
                found.append("its output could not be read back: %s" % e)
        if found:
            notes[i] = "operator %r: %s" % (name, "; ".join(found))

    _run_all(len(names), fill, limit=16)
    warnings.extend(n for n in notes if n)


def _run_all(n, fn, limit=None):
    """Runs fn(0..n-1), in threads when n > 1, at most limit at a time; fn
    must not raise."""
    if n == 1:
        fn(0)
        return
    gate = threading.BoundedSemaphore(limit or n)

    def run(i):
        with gate:
            fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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
            print(
                "aqueduct-runtime %s (event versions %d and %d, python %s)"
                % (__version__, EVENT_VERSION, EVENT_VERSION_SERVER, sys.version.split()[0])
            )
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
