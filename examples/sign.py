#!/usr/bin/env python3
"""Sign a webhook body the way Zendesk does and print the curl command that sends it.

usage: examples/sign.py SECRET FILE [URL]
Zendesk: signature = base64(HMAC-SHA256(key=secret as given, msg=timestamp + raw body)).
The timestamp is now, so the request passes the receiver's tolerance window.
"""
import base64, datetime, hashlib, hmac, shlex, sys

secret, path = sys.argv[1], sys.argv[2]
url = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8080/webhooks/zendesk"
body = open(path, "rb").read()
ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
print(" ".join([
    "curl", "-sS", "-i", "-X", "POST", shlex.quote(url),
    "-H", shlex.quote("Content-Type: application/json"),
    "-H", shlex.quote(f"X-Zendesk-Webhook-Signature-Timestamp: {ts}"),
    "-H", shlex.quote(f"X-Zendesk-Webhook-Signature: {sig}"),
    "--data-binary", shlex.quote("@" + path),
]))
