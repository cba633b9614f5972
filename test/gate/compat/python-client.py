# The compatibility suite's Python client: one request with urllib.request (redirects followed, as
# urllib does), described by the JSON of argv[1]; prints what came back as JSON on stdout.
#   {"url", "method", "headers": [[k, v]...], "bodyFile", "http10", "timeout", "until": text}
# With "until", reading stops once the body holds that text, and "untilMs" says when that was.
import hashlib
import http.client
import json
import sys
import time
import urllib.error
import urllib.request

spec = json.loads(sys.argv[1])
if spec.get("http10"):
    http.client.HTTPConnection._http_vsn = 10
    http.client.HTTPConnection._http_vsn_str = "HTTP/1.0"
data = None
if spec.get("bodyFile"):
    with open(spec["bodyFile"], "rb") as f:
        data = f.read()
req = urllib.request.Request(spec["url"], data=data, method=spec.get("method") or None)
for name, value in spec.get("headers", []):
    req.add_header(name, value)

out = {"status": 0, "reason": "", "headers": [], "bytes": 0, "sha256": "", "error": None}
t0 = time.monotonic()
try:
    try:
        resp = urllib.request.urlopen(req, timeout=spec.get("timeout", 10))
    except urllib.error.HTTPError as e:
        resp = e
    out["status"] = resp.status
    out["reason"] = resp.reason
    out["headers"] = [[k, v] for k, v in resp.headers.items()]
    until = spec.get("until")
    if until:
        seen = b""
        while until.encode() not in seen:
            line = resp.readline()
            if not line:
                break
            seen += line
        out["untilMs"] = (time.monotonic() - t0) * 1000 if until.encode() in seen else None
        body = seen
    else:
        body = resp.read()
    out["bytes"] = len(body)
    out["sha256"] = hashlib.sha256(body).hexdigest()
except Exception as e:  # a transport failure is a result, reported as such
    out["error"] = "%s: %s" % (type(e).__name__, e)
out["ms"] = (time.monotonic() - t0) * 1000
print(json.dumps(out))
