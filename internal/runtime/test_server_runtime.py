"""Tests of the runtime's server-side runs (event version 2, server.go).

The signer is checked against AWS's published SigV4 examples, in process.
The runtime itself runs in a subprocess, as in test_aqueduct_runtime, against
fakeS3: a path-style S3 that checks each request's signature with the one
secret it knows, as S3 does, so a request the runtime signs wrongly fails.
Standard library only.
"""

import calendar
import hashlib
import hmac
import http.server
import importlib.util
import json
import os
import pickle
import shutil
import ssl
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.parse
import uuid

import test_aqueduct_runtime as base

HERE = os.path.dirname(os.path.abspath(__file__))


def load_runtime():
    spec = importlib.util.spec_from_file_location("aqueduct_runtime_under_test", base.RUNTIME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rt = load_runtime()

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

ACCESS_KEY = "ASIATESTACCESSKEY0001"
SECRET = "s3cr3t/For+The/Test+wJalrXUtnFEMI/K7MDENG"
TOKEN = "IQoJb3JpZ2luX2VjEPT//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test/token=="
REGION = "eu-west-1"
BUCKET = "artifacts"
ROOT = "aqueduct/engines/ml-0123456789ab"
WORKFLOW = "wf"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- the signer, in process


class SignerTest(unittest.TestCase):
    """AWS's published examples: the S3 API reference's "Signature
    Calculations for the Authorization Header" (examplebucket, 2013-05-24)
    and the SigV4 test suite (example.amazonaws.com, 2015-08-30)."""

    s3_creds = rt.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    suite_creds = rt.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

    def s3_example(self, method, path, query, headers, payload_hash):
        date = "20130524T000000Z"
        headers = dict(headers, host="examplebucket.s3.amazonaws.com")
        headers["x-amz-date"] = date
        headers["x-amz-content-sha256"] = payload_hash
        return rt.sign_v4(method, path, query, headers, payload_hash, self.s3_creds, "us-east-1", "s3", date)

    def suite(self, method, query=(), headers=None, creds=None):
        date = "20150830T123600Z"
        headers = dict(headers or {}, host="example.amazonaws.com")
        headers["x-amz-date"] = date
        return rt.sign_v4(method, "/", list(query), headers, EMPTY, creds or self.suite_creds, "us-east-1", "service", date)

    def test_s3_get_object_example(self):
        got = self.s3_example("GET", "/test.txt", [], {"Range": "bytes=0-9"}, EMPTY)
        self.assertEqual(
            got,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        )

    def test_s3_put_object_example(self):
        payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
        self.assertEqual(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        path = "/" + rt._uri_encode("test$file.text", "/")
        self.assertEqual(path, "/test%24file.text")
        got = self.s3_example(
            "PUT", path, [], {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"}, payload
        )
        self.assertIn("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,", got)
        self.assertTrue(got.endswith("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"), got)

    def test_s3_bucket_examples_with_queries(self):
        lifecycle = self.s3_example("GET", "/", [("lifecycle", "")], {}, EMPTY)
        self.assertTrue(lifecycle.endswith("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"), lifecycle)
        listing = self.s3_example("GET", "/", [("prefix", "J"), ("max-keys", "2")], {}, EMPTY)
        self.assertTrue(listing.endswith("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), listing)

    def test_sigv4_suite(self):
        for name, got, want in (
            ("get-vanilla", self.suite("GET"), "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            (
                "get-vanilla-query-order-key-case",
                self.suite("GET", [("Param2", "value2"), ("Param1", "value1")]),
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
            ),
            ("post-vanilla", self.suite("POST"), "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
            (
                "get-header-value-trim",
                self.suite("GET", headers={"My-Header1": " value1", "My-Header2": '"a   b   c"'}),
                "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
            ),
        ):
            self.assertTrue(got.endswith("Signature=" + want), "%s: %s" % (name, got))

    def test_sigv4_suite_session_token_is_signed(self):
        # post-sts-token/post-sts-header-before: the token is a signed header.
        token = (
            "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuw"
            "thAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQc"
            "HNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
        )
        got = self.suite("POST", headers={"X-Amz-Security-Token": token})
        self.assertIn("SignedHeaders=host;x-amz-date;x-amz-security-token,", got)
        self.assertTrue(got.endswith("Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"), got)

    def test_s3_requests_carry_what_s3_needs(self):
        """What S3 itself gets: a signed host, date, payload hash and token,
        the key's path encoded once, and no credentials but the access key id."""
        seen = {}

        def fake_call(method, url, body, content_type, deadline, headers=None, retryable=None, describe=None):
            seen.update(method=method, url=url, headers=headers, body=body)
            return 200, {}, b""

        creds = rt.Credentials("AKID", "the-secret", "the-token")
        s3 = rt.S3("bucket", "us-east-1", "http://127.0.0.1:80/bucket", creds, clock=lambda: 1369353600)
        real = rt.http_call
        rt.http_call = fake_call
        try:
            s3.put("runs/r 1/outputs/a+b", b"{}", rt.CT_JSON, None)
        finally:
            rt.http_call = real
        h = seen["headers"]
        self.assertEqual(seen["url"], "http://127.0.0.1/bucket/runs/r%201/outputs/a%2Bb")
        self.assertEqual(h["Host"], "127.0.0.1")  # the default port is not part of the signed host
        self.assertEqual(h["X-Amz-Date"], "20130524T000000Z")
        self.assertEqual(h["X-Amz-Content-SHA256"], hashlib.sha256(b"{}").hexdigest())
        self.assertEqual(h["X-Amz-Security-Token"], "the-token")
        self.assertEqual(h["Content-Type"], rt.CT_JSON)
        self.assertIn("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,", h["Authorization"])
        self.assertNotIn("the-secret", json.dumps(h))

    def test_endpoint_and_addressing(self):
        env = {"AWS_ENDPOINT_URL": "http://general:4566", "AWS_ENDPOINT_URL_S3": "http://s3only:9000/"}
        for bucket, region, endpoint, environ, want in (
            # An override is path-style, the event's first, then S3's own variable, then the general one.
            ("b-1", "us-east-1", "http://127.0.0.1:4566", env, "http://127.0.0.1:4566/b-1"),
            ("b-1", "us-east-1", None, env, "http://s3only:9000/b-1"),
            ("b-1", "us-east-1", None, {"AWS_ENDPOINT_URL": "https://minio.example:9000/s3/"}, "https://minio.example:9000/s3/b-1"),
            # AWS itself: virtual-hosted at the regional endpoint.
            ("b-1", "eu-west-1", None, {}, "https://b-1.s3.eu-west-1.amazonaws.com"),
            ("b-1", "cn-north-1", None, {}, "https://b-1.s3.cn-north-1.amazonaws.com.cn"),
            # A dotted name would not match S3's wildcard certificate: path-style.
            ("my.bucket", "us-west-2", None, {}, "https://s3.us-west-2.amazonaws.com/my.bucket"),
        ):
            self.assertEqual(rt.s3_base_url(bucket, region, endpoint, environ), want, (bucket, endpoint, environ))
        for bad in ("ftp://host/", "http://user:pw@host/", "http://host/?x=1", "not a url"):
            with self.assertRaises(rt.AqueductError) as cm:
                rt.s3_base_url("b-1", "us-east-1", bad, {})
            self.assertEqual(cm.exception.error_type, "Aqueduct.BadEvent")
            self.assertNotIn("pw", str(cm.exception))

    def test_credentials_stay_hidden(self):
        creds = rt.Credentials("AKIDHIDDEN", "secret-value", "token-value")
        self.assertNotIn("secret", repr(creds))
        self.assertEqual(creds.scrub("a secret-value b token-value c AKIDHIDDEN"), "a *** b *** c ***")
        with self.assertRaises(rt.AqueductError) as cm:
            rt.Credentials.from_env({"AWS_ACCESS_KEY_ID": "AKIDHIDDEN"})
        self.assertEqual(cm.exception.error_type, "Aqueduct.CredentialsError")
        self.assertIn("AWS_SECRET_ACCESS_KEY not set", str(cm.exception))
        self.assertNotIn("AKIDHIDDEN", str(cm.exception))

    def test_s3_error_text_keeps_code_and_message_only(self):
        body = (
            "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message>"
            "<AWSAccessKeyId>AKIDX</AWSAccessKeyId><CanonicalRequest>x-amz-security-token:TOKEN</CanonicalRequest></Error>"
        ).encode()
        text = rt.s3_error_text(403, {}, body)
        self.assertEqual(text, "SignatureDoesNotMatch: The request signature we calculated does not match. (HTTP 403)")
        self.assertEqual(rt.s3_error_text(403, {}, b""), "Forbidden (HTTP 403)")
        moved = rt.s3_error_text(301, {"x-amz-bucket-region": "us-west-2"}, b"<Error><Code>PermanentRedirect</Code></Error>")
        self.assertEqual(moved, "PermanentRedirect (HTTP 301); the bucket is in region us-west-2")
        self.assertTrue(rt._s3_retryable(503, b"<Code>SlowDown</Code>"))
        self.assertTrue(rt._s3_retryable(400, b"<Error><Code>RequestTimeout</Code></Error>"))
        self.assertFalse(rt._s3_retryable(400, b"<Error><Code>InvalidArgument</Code></Error>"))
        self.assertFalse(rt._s3_retryable(403, b""))

    def test_cache_key_text_form(self):
        # The same document as Go's TestCacheKey: the form both hash.
        params = {"seed": sha("1"), "unused": sha('"x"')}
        got = rt.cache_key("sha256:aa", ["test_size", "seed"], False, params, "", ["sha256:k1", "sha256:k2"])
        doc = (
            "aqueduct-cache-key/v1\nlineage sha256:aa\nparameters named\nparameter seed " + sha("1")
            + "\nparameter test_size " + rt.NULL_HASH + "\ninput -\nupstream sha256:k1\nupstream sha256:k2\n"
        )
        self.assertEqual(got, "sha256:" + sha(doc))
        got = rt.cache_key("sha256:aa", [], True, params, sha("3"), [])
        doc = (
            "aqueduct-cache-key/v1\nlineage sha256:aa\nparameters all\nparameter seed " + sha("1")
            + "\nparameter unused " + sha('"x"') + "\ninput " + sha("3") + "\n"
        )
        self.assertEqual(got, "sha256:" + sha(doc))
        self.assertEqual(rt.NULL_HASH, sha("null"))

    def test_keys_follow_the_artifacts_layout(self):
        self.assertEqual(rt.operator_key("p/q", "wf", "a"), "p/q/workflows/wf/operators/a.json")
        self.assertEqual(rt.operator_key("", "wf", "a"), "workflows/wf/operators/a.json")
        self.assertEqual(rt.run_key("p", "wf", "r-1"), "p/workflows/wf/runs/r-1/run.json")
        self.assertEqual(rt.run_output_key("p", "wf", "r-1", "a"), "p/workflows/wf/runs/r-1/outputs/a")
        self.assertEqual(rt.accepts_key("p", "wf", "sha256:ab"), "p/workflows/wf/cache/accepts/ab.json")
        self.assertEqual(rt.result_key("p", "wf", "sha256:cd"), "p/workflows/wf/cache/results/cd/result.json")
        self.assertEqual(rt.cached_output_key("p", "wf", "sha256:cd"), "p/workflows/wf/cache/results/cd/output")

    def test_parse_time(self):
        self.assertEqual(rt.parse_time("2013-05-24T00:00:00Z"), 1369353600)
        self.assertAlmostEqual(rt.parse_time("2013-05-24T00:00:00.250Z"), 1369353600.25)
        self.assertAlmostEqual(rt.parse_time("2013-05-24T02:00:00.123456789+02:00"), 1369353600.123456789, places=5)
        self.assertEqual(rt.parse_time(rt._rfc3339(1369353600.5)), 1369353600.5)
        for bad in (None, 5, "", "2013-05-24", "2013-05-24T00:00:00", "2013-05-24T00:00:00.Z", "yesterday at noon!!"):
            self.assertIsNone(rt.parse_time(bad), bad)

    def test_error_record_from_states_error(self):
        doc = {"errorType": "KeyError", "errorMessage": "'k'", "stackTrace": ["Traceback:\n", '  File "x.py"\n', "KeyError: 'k'"]}
        self.assertEqual(
            rt.error_record({"Error": "KeyError", "Cause": json.dumps(doc)}),
            {"type": "KeyError", "message": "'k'", "traceback": 'Traceback:\n  File "x.py"\nKeyError: \'k\''},
        )
        self.assertEqual(
            rt.error_record({"Error": "States.Timeout", "Cause": "Task timed out after 960 seconds"}),
            {"type": "States.Timeout", "message": "Task timed out after 960 seconds"},
        )
        self.assertEqual(rt.error_record(None)["type"], "Aqueduct.UnknownError")

    def test_dumps_raw_embeds_stored_json_as_it_is(self):
        raw = '{"b":1.50,"a":"caf\\u00e9"}'  # not how json.dumps would write it
        text = rt.dumps_raw({"x": rt._Raw(raw), "y": ["\x00"]}, indent=2)
        self.assertIn('"x": ' + raw, text)
        self.assertEqual(json.loads(text)["y"], ["\x00"])


# ---------------------------------------------------------------- a fake S3 that checks signatures


def verify_sigv4(method, raw_path, headers, body, access_key, secret, token, region, now):
    """None when the request is signed as S3 wants it with these credentials,
    else why not. Written apart from the runtime's signer, from the SigV4
    documentation, so the two check each other."""
    auth = headers.get("Authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    key_id, date, scope_region, service, terminal = fields["Credential"].split("/")
    amz_date = headers.get("X-Amz-Date") or ""
    if key_id != access_key:
        return "InvalidAccessKeyId"
    if (scope_region, service, terminal) != (region, "s3", "aws4_request") or date != amz_date[:8]:
        return "AuthorizationHeaderMalformed"
    signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    if abs(signed_at - now) > 900:
        return "RequestTimeTooSkewed"
    signed = fields["SignedHeaders"].split(";")
    for needed in ("host", "x-amz-date", "x-amz-content-sha256") + (("x-amz-security-token",) if token else ()):
        if needed not in signed:
            return "%s is not signed" % needed
    if token and headers.get("X-Amz-Security-Token") != token:
        return "InvalidToken"
    payload = headers.get("X-Amz-Content-SHA256")
    if payload != hashlib.sha256(body).hexdigest():
        return "XAmzContentSHA256Mismatch"
    path, _, query = raw_path.partition("?")
    pairs = sorted(
        (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)
    )
    canonical_headers = "".join("%s:%s\n" % (h, " ".join((headers.get(h) or "").split())) for h in signed)
    canonical = "\n".join([method, path, "&".join("%s=%s" % p for p in pairs), canonical_headers, ";".join(signed), payload])
    scope = "/".join([date, region, "s3", "aws4_request"])
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())
    k = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), fields["Signature"]):
        return "SignatureDoesNotMatch\n" + canonical
    return None


class fakeS3:
    """A path-style S3 (/bucket/key) that takes only requests signed with its
    credentials. A bad signature is 403 SignatureDoesNotMatch with the
    canonical request in the body, token and all, as S3 answers it. With
    deny_missing, a missing object is 403 AccessDenied, as S3 answers a role
    that may not list the bucket."""

    def __init__(self, tls=None):
        self.objects = {}
        self.log = []  # (method, key, status)
        self.fail = []  # statuses to answer the next requests with
        self.deny_missing = False
        self.lock = threading.Lock()
        fake = self

        @base.quiet
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self, method):
                body = b""
                if "Content-Length" in self.headers:
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path.split("?")[0]
                bucket, _, key = path.lstrip("/").partition("/")
                key = urllib.parse.unquote(key)
                status, reply, ctype = fake.answer(method, bucket, key, self.path, self.headers, body)
                with fake.lock:
                    fake.log.append((method, key, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(reply)

            def do_GET(self):
                self.handle_one("GET")

            def do_HEAD(self):
                self.handle_one("HEAD")

            def do_PUT(self):
                self.handle_one("PUT")

        self.server = base.quietServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.endpoint = "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def error(status, code, message, extra=""):
        body = "<Error><Code>%s</Code><Message>%s</Message>%s<RequestId>TEST</RequestId></Error>" % (code, message, extra)
        return status, body.encode(), "application/xml"

    def answer(self, method, bucket, key, raw_path, headers, body):
        with self.lock:
            if self.fail:
                status = self.fail.pop(0)
                return self.error(status, "SlowDown" if status == 503 else "InternalError", "Please reduce your request rate.")
        why = verify_sigv4(method, raw_path, headers, body, ACCESS_KEY, SECRET, TOKEN, REGION, time.time())
        if why:
            code, _, canonical = why.partition("\n")
            extra = "<AWSAccessKeyId>%s</AWSAccessKeyId><CanonicalRequest>%s</CanonicalRequest>" % (
                ACCESS_KEY,
                canonical.replace("&", "&amp;").replace("<", "&lt;"),
            )
            return self.error(403 if code != "XAmzContentSHA256Mismatch" else 400, code, "The request is not signed as S3 wants it.", extra)
        if bucket != BUCKET:
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist")
        with self.lock:
            if method == "PUT":
                self.objects[key] = (body, headers.get("Content-Type") or "binary/octet-stream")
                return 200, b"", "application/xml"
            obj = self.objects.get(key)
        if obj is None:
            if self.deny_missing:
                return self.error(403, "AccessDenied", "Access Denied")
            return self.error(404, "NoSuchKey", "The specified key does not exist.")
        return 200, obj[0], obj[1]

    def put(self, key, body, content_type=rt.CT_JSON):
        with self.lock:
            self.objects[key] = (body if isinstance(body, bytes) else body.encode(), content_type)

    def put_json(self, key, value):
        self.put(key, json.dumps(value))

    def get(self, key):
        with self.lock:
            return self.objects.get(key)

    def get_json(self, key):
        obj = self.get(key)
        return None if obj is None else json.loads(obj[0])

    def delete(self, key):
        with self.lock:
            self.objects.pop(key, None)

    def take_log(self):
        with self.lock:
            log, self.log = self.log, []
        return log

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the runtime on server events

SERVER_OPS = """
import sys

CALLS = []

class Box:
    def __init__(self, v):
        self.v = v

def load(base):
    CALLS.append("load")
    return {"n": base, "calls": len(CALLS)}

def boxed(load):
    return Box(load["n"] + 1)

def join(load, boxed, scale=1):
    return {"sum": (load["n"] + boxed.v) * scale, "box": type(boxed).__name__}

def anything(load, **kw):
    return sorted(kw)

def big(load):
    return bytes(range(256)) * (7 * 4096)

def fail(load):
    raise ValueError("bad load %d" % load["n"])
"""


def server_env(endpoint=None, secret=SECRET, **extra):
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_SESSION_TOKEN": TOKEN,
        "AWS_REGION": REGION,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
    env.update(extra)
    return env


class ServerRuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = fakeS3()
        cls.task_dir = tempfile.mkdtemp(prefix="aqueduct-server-")
        with open(os.path.join(cls.task_dir, "server_ops.py"), "w") as f:
            f.write(textwrap.dedent(SERVER_OPS))

    @classmethod
    def tearDownClass(cls):
        cls.s3.close()
        shutil.rmtree(cls.task_dir, ignore_errors=True)

    def setUp(self):
        self.procs = []
        self.s3.fail = []
        self.s3.deny_missing = False
        self.s3.take_log()
        # Each test its own workflow: no test sees another's cache.
        self.workflow = "wf-" + uuid.uuid4().hex[:8]
        self.params = {"base": 4, "scale": 3}

    def tearDown(self):
        for p in self.procs:
            p.stop()

    def start(self, handler, env=None):
        p = base.RuntimeProcess(handler, self.task_dir, extra_env=server_env(self.s3.endpoint) if env is None else env)
        self.procs.append(p)
        return p.api

    def manifest(self, op, lineage, function_name=None, image="repo@sha256:" + "1" * 64):
        self.s3.put_json(
            rt.operator_key(ROOT, self.workflow, op),
            {"name": op, "workflow": self.workflow, "function_name": function_name or "fn-" + op, "image_uri": image, "lineage": lineage},
        )

    def event(self, op, lineage, inputs=(), results=None, run_id="run-1", rerun=False, **extra):
        ev = {
            "aqueduct": 2,
            "run": {"id": run_id, "workflow": self.workflow, "identity": "sha256:ident", "rerun": rerun, "started_by": "terraform"},
            "execution_name": "exec-" + run_id,
            "store": {"bucket": BUCKET, "region": REGION, "root": ROOT, "workflow": self.workflow},
            "parameters": self.params,
            "parameter_hashes": {k: sha(canonical_json(v)) for k, v in self.params.items()},
            "operator": op,
            "lineage": lineage,
            "inputs": list(inputs),
            "input_results": results or {},
        }
        ev.update(extra)
        return ev

    def ok(self, api, event):
        kind, error_type, body = api.invoke(event)
        self.assertEqual(kind, "response", body)
        return json.loads(body)

    def error(self, api, event):
        kind, error_type, body = api.invoke(event)
        self.assertEqual(kind, "error", body)
        err = json.loads(body)
        self.assertEqual(error_type, err["errorType"])
        return err

    def keys(self, op, lineage, run_id):
        return {
            "accepts": rt.accepts_key(ROOT, self.workflow, lineage),
            "run_output": rt.run_output_key(ROOT, self.workflow, run_id, op),
        }

    # ------------------------------------------------------------ the operator event

    def test_first_run_calls_the_operator_and_records_what_it_made(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        res = self.ok(api, self.event("load", "sha256:l1"))
        # What it takes was not known: the output goes to the run's folder.
        out = rt.run_output_key(ROOT, self.workflow, "run-1", "load")
        self.assertEqual(res["status"], "succeeded")
        self.assertEqual(res["output_key"], out)
        self.assertEqual(res["content_type"], rt.CT_JSON)
        self.assertEqual(self.s3.get(out), (b'{"n":4,"calls":1}', rt.CT_JSON))
        self.assertEqual(res["size_bytes"], len(b'{"n":4,"calls":1}'))
        self.assertNotIn("output", res)
        self.assertNotIn("preview", res)
        for field in ("started_at", "finished_at"):
            self.assertIsNotNone(rt.parse_time(res[field]), res)
        self.assertGreaterEqual(rt.parse_time(res["finished_at"]), rt.parse_time(res["started_at"]))
        self.assertIsInstance(res["duration_ms"], int)
        # It learnt that load takes base, and keyed the result by it.
        self.assertEqual(self.s3.get_json(rt.accepts_key(ROOT, self.workflow, "sha256:l1")), {"names": ["base"], "all": False})
        want_key = rt.cache_key("sha256:l1", ["base"], False, self.event("load", "x")["parameter_hashes"], "", [])
        self.assertEqual(res["cache_key"], want_key)
        cached = self.s3.get_json(rt.result_key(ROOT, self.workflow, want_key))
        self.assertEqual(cached["run_id"], "run-1")
        self.assertEqual(cached["output_key"], out)
        self.assertEqual(cached["content_type"], rt.CT_JSON)
        self.assertEqual(cached["size_bytes"], res["size_bytes"])
        self.assertEqual(cached["preview"], {"n": 4, "calls": 1})
        self.assertEqual(cached["finished_at"], res["finished_at"])
        self.assertIn(b'"preview":{"n":4,"calls":1}', self.s3.get(rt.result_key(ROOT, self.workflow, want_key))[0])

    def test_second_run_is_answered_from_the_cache(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        first = self.ok(api, self.event("load", "sha256:l1", run_id="run-1"))
        self.s3.take_log()
        second = self.ok(api, self.event("load", "sha256:l1", run_id="run-2"))
        self.assertEqual(second["status"], "cached")
        self.assertEqual(second["cached_from"], "run-1")
        for field in ("cache_key", "output_key", "content_type", "size_bytes"):
            self.assertEqual(second[field], first[field], field)
        # Read-only: the manifest, what it takes, the result, the output's HEAD.
        self.assertEqual([m for m, _, _ in self.s3.take_log()], ["GET", "GET", "GET", "HEAD"])
        # A parameter it does not take keeps it cached; one it takes does not.
        self.params["unused"] = True
        self.assertEqual(self.ok(api, self.event("load", "sha256:l1", run_id="run-3"))["status"], "cached")
        self.params["base"] = 5
        third = self.ok(api, self.event("load", "sha256:l1", run_id="run-4"))
        self.assertEqual(third["status"], "succeeded")
        # Now the key is known beforehand: the output goes straight into the cache.
        self.assertEqual(third["output_key"], rt.cached_output_key(ROOT, self.workflow, third["cache_key"]))
        self.assertEqual(json.loads(self.s3.get(third["output_key"])[0]), {"n": 5, "calls": 2})

    def test_rerun_calls_it_again_and_points_the_cache_at_its_output(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        first = self.ok(api, self.event("load", "sha256:l1", run_id="run-1"))
        again = self.ok(api, self.event("load", "sha256:l1", run_id="run-2", rerun=True))
        self.assertEqual(again["status"], "succeeded")
        self.assertEqual(again["cache_key"], first["cache_key"])
        self.assertEqual(again["output_key"], rt.run_output_key(ROOT, self.workflow, "run-2", "load"))
        self.assertEqual(json.loads(self.s3.get(first["output_key"])[0])["calls"], 1)  # untouched
        self.assertEqual(json.loads(self.s3.get(again["output_key"])[0])["calls"], 2)
        cached = self.s3.get_json(rt.result_key(ROOT, self.workflow, first["cache_key"]))
        self.assertEqual((cached["run_id"], cached["output_key"]), ("run-2", again["output_key"]))
        after = self.ok(api, self.event("load", "sha256:l1", run_id="run-3"))
        self.assertEqual((after["status"], after["cached_from"]), ("cached", "run-2"))

    def test_cached_result_whose_output_is_gone_runs_again(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        first = self.ok(api, self.event("load", "sha256:l1", run_id="run-1"))
        self.s3.delete(first["output_key"])
        again = self.ok(api, self.event("load", "sha256:l1", run_id="run-2"))
        self.assertEqual(again["status"], "succeeded")
        self.assertIsNotNone(self.s3.get(again["output_key"]))

    def test_missing_objects_denied_without_list_bucket_are_misses(self):
        self.s3.deny_missing = True
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        self.assertEqual(self.ok(api, self.event("load", "sha256:l1", run_id="run-1"))["status"], "succeeded")
        self.assertEqual(self.ok(api, self.event("load", "sha256:l1", run_id="run-2"))["status"], "cached")

    def test_inputs_are_read_where_their_results_say_in_order(self):
        self.manifest("load", "sha256:l1")
        self.manifest("boxed", "sha256:b1")
        self.manifest("join", "sha256:j1")
        load = self.ok(self.start("server_ops:load"), self.event("load", "sha256:l1"))
        boxed = self.ok(self.start("server_ops:boxed"), self.event("boxed", "sha256:b1", ["load"], {"load": load}))
        self.assertEqual(boxed["content_type"], rt.CT_PICKLE)
        join = self.ok(
            self.start("server_ops:join"), self.event("join", "sha256:j1", ["load", "boxed"], {"load": load, "boxed": boxed})
        )
        self.assertEqual(json.loads(self.s3.get(join["output_key"])[0]), {"sum": 27, "box": "Box"})
        # Its key covers its inputs' keys, in order.
        hashes = self.event("join", "x")["parameter_hashes"]
        self.assertEqual(join["cache_key"], rt.cache_key("sha256:j1", ["scale"], False, hashes, "", [load["cache_key"], boxed["cache_key"]]))
        # **kwargs takes every parameter, and its key says so.
        self.manifest("anything", "sha256:a1")
        anything = self.ok(self.start("server_ops:anything"), self.event("anything", "sha256:a1", ["load"], {"load": load}))
        self.assertEqual(json.loads(self.s3.get(anything["output_key"])[0]), ["base", "scale"])
        self.assertEqual(self.s3.get_json(rt.accepts_key(ROOT, self.workflow, "sha256:a1")), {"names": [], "all": True})

    def test_big_output_is_streamed_and_its_payload_signed(self):
        self.manifest("load", "sha256:l1")
        self.manifest("big", "sha256:g1")
        load = self.ok(self.start("server_ops:load"), self.event("load", "sha256:l1"))
        res = self.ok(self.start("server_ops:big"), self.event("big", "sha256:g1", ["load"], {"load": load}))
        want = bytes(range(256)) * (7 * 4096)
        self.assertEqual((res["size_bytes"], res["content_type"]), (len(want), rt.CT_BYTES))
        self.assertEqual(self.s3.get(res["output_key"]), (want, rt.CT_BYTES))  # fakeS3 checked its SHA-256

    def test_slowdown_is_retried(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        self.s3.fail = [503, 503, 500]
        res = self.ok(api, self.event("load", "sha256:l1"))
        self.assertEqual(res["status"], "succeeded")
        self.assertEqual([s for _, _, s in self.s3.take_log()][:4], [503, 503, 500, 200])

    def test_run_id_is_the_execution_name_for_a_scheduled_run(self):
        self.manifest("load", "sha256:l1")
        ev = self.event("load", "sha256:l1")
        del ev["run"]["id"]
        ev["execution_name"] = "sched-2026-12-01T00-00"
        res = self.ok(self.start("server_ops:load"), ev)
        self.assertEqual(res["output_key"], rt.run_output_key(ROOT, self.workflow, "sched-2026-12-01T00-00", "load"))

    def test_store_endpoint_in_the_event_wins(self):
        self.manifest("load", "sha256:l1")
        env = server_env("http://127.0.0.1:9")  # nothing listens there
        ev = self.event("load", "sha256:l1")
        ev["store"]["endpoint"] = self.s3.endpoint
        self.assertEqual(self.ok(self.start("server_ops:load", env), ev)["status"], "succeeded")

    # ------------------------------------------------------------ what fails, and how

    def test_changed_operator_is_stale(self):
        self.manifest("load", "sha256:new")
        err = self.error(self.start("server_ops:load"), self.event("load", "sha256:planned"))
        self.assertEqual(err["errorType"], "Aqueduct.StaleLineage")
        self.assertIn("sha256:new", err["errorMessage"])
        self.assertIn("sha256:planned", err["errorMessage"])
        self.assertIn("s3://%s/%s" % (BUCKET, rt.operator_key(ROOT, self.workflow, "load")), err["errorMessage"])
        self.assertNotIn("PUT", [m for m, _, _ in self.s3.take_log()])

    def test_deleted_operator_is_stale(self):
        err = self.error(self.start("server_ops:load"), self.event("load", "sha256:l1"))
        self.assertEqual(err["errorType"], "Aqueduct.StaleLineage")
        self.assertIn("no manifest", err["errorMessage"])

    def test_another_function_than_the_manifests_is_refused(self):
        self.manifest("load", "sha256:l1", function_name="fn-load")
        api = self.start("server_ops:load", server_env(self.s3.endpoint, AWS_LAMBDA_FUNCTION_NAME="fn-other"))
        err = self.error(api, self.event("load", "sha256:l1"))
        self.assertEqual(err["errorType"], "Aqueduct.FunctionChanged")
        self.assertIn("fn-other", err["errorMessage"])

    def test_missing_input_object_is_an_input_error(self):
        self.manifest("boxed", "sha256:b1")
        gone = {"status": "succeeded", "cache_key": "sha256:k", "output_key": ROOT + "/gone", "content_type": rt.CT_JSON}
        err = self.error(self.start("server_ops:boxed"), self.event("boxed", "sha256:b1", ["load"], {"load": gone}))
        self.assertEqual(err["errorType"], "Aqueduct.InputError")
        self.assertIn("'load'", err["errorMessage"])
        self.assertIn("s3://%s/%s/gone" % (BUCKET, ROOT), err["errorMessage"])
        err = self.error(self.procs[-1].api, self.event("boxed", "sha256:b1", ["load"], {"load": {"status": "skipped"}}))
        self.assertEqual(err["errorType"], "Aqueduct.InputError")

    def test_bad_signature_is_a_store_error_without_credentials(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load", server_env(self.s3.endpoint, secret="not-the-secret/wrong+key"))
        err = self.error(api, self.event("load", "sha256:l1"))
        self.assertEqual(err["errorType"], "Aqueduct.StoreError")
        self.assertIn("SignatureDoesNotMatch", err["errorMessage"])
        self.assertIn("GET s3://%s/%s" % (BUCKET, rt.operator_key(ROOT, self.workflow, "load")), err["errorMessage"])
        everything = json.dumps(err) + self.procs[-1].stderr() + self.procs[-1].stdout()
        for secret in ("not-the-secret/wrong+key", SECRET, TOKEN, ACCESS_KEY, "Signature="):
            self.assertNotIn(secret, everything)

    def test_refused_output_is_an_output_error_naming_the_key(self):
        self.manifest("load", "sha256:l1")
        api = self.start("server_ops:load")
        orig = self.s3.answer

        def refuse_puts(method, bucket, key, raw_path, headers, body):
            if method == "PUT" and "/outputs/" in key:
                return fakeS3.error(403, "AccessDenied", "Access Denied")
            return orig(method, bucket, key, raw_path, headers, body)

        self.s3.answer = refuse_puts
        try:
            err = self.error(api, self.event("load", "sha256:l1"))
        finally:
            del self.s3.answer
        self.assertEqual(err["errorType"], "Aqueduct.OutputError")
        self.assertIn("AccessDenied", err["errorMessage"])
        self.assertIn(rt.run_output_key(ROOT, self.workflow, "run-1", "load"), err["errorMessage"])

    def test_missing_credentials(self):
        self.manifest("load", "sha256:l1")
        env = server_env(self.s3.endpoint)
        del env["AWS_SECRET_ACCESS_KEY"]
        err = self.error(self.start("server_ops:load", env), self.event("load", "sha256:l1"))
        self.assertEqual(err["errorType"], "Aqueduct.CredentialsError")

    def test_users_exception_is_a_function_error(self):
        self.manifest("load", "sha256:l1")
        self.manifest("fail", "sha256:f1")
        load = self.ok(self.start("server_ops:load"), self.event("load", "sha256:l1"))
        err = self.error(self.start("server_ops:fail"), self.event("fail", "sha256:f1", ["load"], {"load": load}))
        self.assertEqual((err["errorType"], err["errorMessage"]), ("ValueError", "bad load 4"))
        self.assertEqual(err["stackTrace"][-1], "ValueError: bad load 4")

    def test_malformed_events_are_bad_events(self):
        api = self.start("server_ops:load")
        for mutate, fragment in (
            (lambda ev: ev.pop("store"), "no store"),
            (lambda ev: ev["store"].pop("bucket"), "no bucket"),
            (lambda ev: ev.pop("lineage"), "no lineage"),
            (lambda ev: ev.update(operator="../x"), "operator"),
            (lambda ev: (ev["run"].pop("id"), ev.pop("execution_name")), "run.id"),
            (lambda ev: ev.update(inputs="load"), "inputs"),
            (lambda ev: ev["parameter_hashes"].pop("scale"), "'scale' has no hex SHA-256"),
        ):
            ev = self.event("load", "sha256:l1")
            mutate(ev)
            err = self.error(api, ev)
            self.assertEqual(err["errorType"], "Aqueduct.BadEvent", fragment)
            self.assertIn(fragment, err["errorMessage"])

    # ------------------------------------------------------------ the record

    def test_record_event_writes_the_run_record(self):
        self.manifest("a", "sha256:la", image="repo@sha256:" + "a" * 64)
        self.manifest("b", "sha256:lb-changed-since")  # no image for a lineage it no longer has
        out_a = rt.run_output_key(ROOT, self.workflow, "run-9", "a")
        self.s3.put(out_a, b'{"x": 1.50}')  # as stored, not as json.dumps would write it
        out_b = ROOT + "/cache/b"
        self.s3.put(out_b, pickle.dumps(object), rt.CT_PICKLE)
        cause = {"errorType": "KeyError", "errorMessage": "'k'", "stackTrace": ["Traceback (most recent call last):", "KeyError: 'k'"]}
        results = {
            "a": {"status": "succeeded", "cache_key": "sha256:ka", "output_key": out_a, "content_type": rt.CT_JSON, "size_bytes": 11,
                  "started_at": "2026-12-01T10:00:01.5Z", "finished_at": "2026-12-01T10:00:02Z", "duration_ms": 500},
            "b": {"status": "cached", "cache_key": "sha256:kb", "cached_from": "run-1", "output_key": out_b,
                  "content_type": rt.CT_PICKLE, "size_bytes": 20, "duration_ms": 7},
            "c": {"status": "failed", "error": {"Error": "KeyError", "Cause": json.dumps(cause)}},
            "d": {"status": "skipped", "skipped_because": "an upstream operator did not succeed"},
        }
        operators = {n: {"function_name": "fn-" + n, "lineage": "sha256:l" + n} for n in ("a", "b", "c", "d", "e")}
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 5)) + ".250Z"  # as Step Functions writes it
        ev = {
            "aqueduct": 2, "record": True,
            "run": {"id": "run-9", "workflow": self.workflow, "identity": "sha256:ident", "rerun": False, "started_by": "schedule:nightly"},
            "execution_name": "exec-9",
            "store": {"bucket": BUCKET, "region": REGION, "root": ROOT, "workflow": self.workflow},
            "targets": ["d"], "started_at": started,
            "parameters": {"base": 4}, "operators": operators, "results": results,
        }
        answer = self.ok(self.start("server_ops:load"), ev)
        self.assertEqual(answer, {"status": "failed", "failed": ["c"]})
        raw = self.s3.get(rt.run_key(ROOT, self.workflow, "run-9"))
        self.assertEqual(raw[1], rt.CT_JSON)
        self.assertIn(b'"output": {"x": 1.50}', raw[0])
        rec = json.loads(raw[0])
        self.assertEqual(
            {k: rec[k] for k in ("id", "workflow", "targets", "identity", "status", "started_at", "parameters", "invoked")},
            {"id": "run-9", "workflow": self.workflow, "targets": ["d"], "identity": "sha256:ident", "status": "failed",
             "started_at": started[:-4] + "250000Z", "parameters": {"base": 4}, "invoked": 1},
        )
        self.assertGreater(rt.parse_time(rec["finished_at"]), rt.parse_time(rec["started_at"]) + 4)
        elapsed = (rt.parse_time(rec["finished_at"]) - rt.parse_time(rec["started_at"])) * 1000
        self.assertLessEqual(abs(rec["duration_ms"] - elapsed), 1)
        ops = rec["operators"]
        self.assertEqual(
            ops["a"],
            {"status": "succeeded", "started_at": "2026-12-01T10:00:01.5Z", "finished_at": "2026-12-01T10:00:02Z",
             "duration_ms": 500, "function_name": "fn-a", "image_uri": "repo@sha256:" + "a" * 64, "lineage": "sha256:la",
             "cache_key": "sha256:ka", "output_key": out_a, "output_uri": "s3://%s/%s" % (BUCKET, out_a),
             "content_type": rt.CT_JSON, "size_bytes": 11, "output": {"x": 1.5}},
        )
        self.assertEqual(
            ops["b"],
            {"status": "cached", "duration_ms": 7, "function_name": "fn-b", "image_uri": "", "lineage": "sha256:lb",
             "cache_key": "sha256:kb", "cached_from": "run-1", "output_key": out_b, "output_uri": "s3://%s/%s" % (BUCKET, out_b),
             "content_type": rt.CT_PICKLE, "size_bytes": 20},
        )
        self.assertEqual(
            ops["c"],
            {"status": "failed", "duration_ms": 0, "function_name": "fn-c", "image_uri": "", "lineage": "sha256:lc", "size_bytes": 0,
             "error": {"type": "KeyError", "message": "'k'", "traceback": "Traceback (most recent call last):\nKeyError: 'k'"}},
        )
        self.assertEqual(ops["d"]["skipped_because"], "an upstream operator did not succeed")
        self.assertEqual(ops["e"]["status"], "skipped")  # no result at all
        self.assertNotIn("warnings", rec)

    def test_record_of_a_succeeded_run(self):
        ev = {
            "aqueduct": 2, "record": True,
            "run": {"workflow": self.workflow, "rerun": False, "started_by": "schedule:nightly"},
            "execution_name": "sched-1",
            "store": {"bucket": BUCKET, "region": REGION, "root": ROOT, "workflow": self.workflow},
            "targets": ["a"], "started_at": "2026-12-01T10:00:00Z", "parameters": {},
            "operators": {"a": {"function_name": "fn-a", "lineage": "sha256:la"}},
            "results": {"a": {"status": "cached", "output_key": ROOT + "/nowhere", "content_type": rt.CT_JSON, "size_bytes": 2}},
        }
        self.assertEqual(self.ok(self.start("server_ops:load"), ev), {"status": "succeeded", "failed": []})
        rec = self.s3.get_json(rt.run_key(ROOT, self.workflow, "sched-1"))
        self.assertEqual((rec["id"], rec["status"], rec["invoked"], rec["identity"]), ("sched-1", "succeeded", 0, ""))
        self.assertNotIn("parameters", rec)
        # Its output is gone: the record says so rather than failing.
        self.assertEqual(len(rec["warnings"]), 1)
        self.assertIn("is gone", rec["warnings"][0])

    def test_succeeded_rerun_is_also_its_identitys_record(self):
        s3key = ROOT + "/out-a"
        self.s3.put(s3key, b"1")
        ev = {
            "aqueduct": 2, "record": True,
            "run": {"workflow": self.workflow, "rerun": True, "base_id": "r-base", "identity": "sha256:i", "started_by": "schedule:nightly"},
            "execution_name": "sched-2",
            "store": {"bucket": BUCKET, "region": REGION, "root": ROOT, "workflow": self.workflow},
            "targets": ["a"], "parameters": {},
            "operators": {"a": {"function_name": "fn-a", "lineage": "sha256:la"}},
            "results": {"a": {"status": "succeeded", "output_key": s3key, "content_type": rt.CT_JSON, "size_bytes": 1}},
        }
        self.assertEqual(self.ok(self.start("server_ops:load"), ev), {"status": "succeeded", "failed": []})
        own, base = (self.s3.get_json(rt.run_key(ROOT, self.workflow, i)) for i in ("sched-2", "r-base"))
        self.assertEqual((own["id"], base["id"], base["identity"]), ("sched-2", "sched-2", "sha256:i"))
        # A failed rerun leaves the identity's record alone.
        ev["execution_name"], ev["results"]["a"] = "sched-3", {"status": "failed", "error": {"Error": "E", "Cause": "c"}}
        self.assertEqual(self.ok(self.start("server_ops:load"), ev)["status"], "failed")
        self.assertEqual(self.s3.get_json(rt.run_key(ROOT, self.workflow, "r-base"))["id"], "sched-2")


# ---------------------------------------------------------------- a task root with stdlib names


class ShadowedStdlibServerTest(unittest.TestCase):
    """The server path's own imports (hashlib, hmac, datetime...) are done
    before the task root is on sys.path too: with a module for every
    standard name in the task root, a server run over HTTPS still works and
    imports none of them. The set-up is ShadowedStdlibTest's."""

    setUpClass = classmethod(base.ShadowedStdlibTest.setUpClass.__func__)
    tearDownClass = classmethod(base.ShadowedStdlibTest.tearDownClass.__func__)
    setUp = base.ShadowedStdlibTest.setUp
    tearDown = base.ShadowedStdlibTest.tearDown

    def test_server_run_over_https(self):
        s3 = fakeS3(tls=(self.cert, self.key))
        self.addCleanup(s3.close)
        workflow = "shadow-" + uuid.uuid4().hex[:8]
        env = server_env(s3.endpoint, SSL_CERT_FILE=self.cert)

        def event(op, lineage, inputs=(), results=None):
            s3.put_json(rt.operator_key(ROOT, workflow, op), {"name": op, "lineage": lineage})
            return {
                "aqueduct": 2, "run": {"id": "r-1", "workflow": workflow, "rerun": False},
                "store": {"bucket": BUCKET, "region": REGION, "root": ROOT, "workflow": workflow},
                "parameters": {"scale": 10}, "parameter_hashes": {"scale": sha("10")},
                "operator": op, "lineage": lineage, "inputs": list(inputs), "input_results": results or {},
            }

        def run(handler, ev):
            p = base.RuntimeProcess(handler, self.task_dir, extra_env=env)
            self.procs.append(p)
            kind, _, body = p.api.invoke(ev)
            self.assertEqual(kind, "response", body)
            return json.loads(body)

        point = run("shadow_ops:make_point", event("b", "sha256:b"))
        self.assertEqual(point["content_type"], rt.CT_PICKLE)
        s3.put(ROOT + "/a", b'{"n": 2}')
        a = {"status": "succeeded", "cache_key": "sha256:ka", "output_key": ROOT + "/a", "content_type": rt.CT_JSON}
        out = run("shadow_ops:summarise", event("s", "sha256:s", ["a", "b"], {"a": a, "b": point}))
        got = json.loads(s3.get(out["output_key"])[0])
        self.assertEqual((got["sum"], got["helper"]), (50, "from the sibling"))
        ev = event("s", "sha256:s")
        ev.update(record=True, operators={"s": {"function_name": "f", "lineage": "sha256:s"}}, results={"s": out})
        answer = run("shadow_ops:make_point", ev)
        self.assertEqual(answer["status"], "succeeded")
        self.assertEqual(s3.get_json(rt.run_key(ROOT, workflow, "r-1"))["operators"]["s"]["output"]["sum"], 50)


if __name__ == "__main__":
    unittest.main()
