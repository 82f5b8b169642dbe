#!/usr/bin/env bash
# Benchmarks the tamperwatch Lambda binary (release build) as Lambda runs it: against a Runtime
# API served on loopback, alerts delivered to a local webhook. Reports
#   - cold start: process start to the first `GET /runtime/invocation/next` (config, catalog
#     and clients built: ready to handle);
#   - handler time per event: event handed out to answer received, for EventBridge events
#     (every one a finding with a fresh eventID, so each is delivered) and for 10-record SQS
#     batches, median and p99;
#   - peak memory (VmHWM) of the process.
# Usage: scripts/bench-lambda.sh [INVOCATIONS]   (default 300)
# TAMPERWATCH_LAMBDA_BIN=path skips the release build and measures that binary instead.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"
bin="${TAMPERWATCH_LAMBDA_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --release --locked -p tamperwatch-lambda
  bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/tamperwatch-lambda"
fi

python3 - "$bin" "$n" crates/tamperwatch-sinks/tests/events <<'PY'
import http.server, json, os, statistics, subprocess, sys, threading, time, uuid

binary, n, events_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fixtures = [open(os.path.join(events_dir, f)).read() for f in (
    "stop_logging_iam_user.json", "delete_detector_assumed_role.json",
    "root_console_login.json", "disable_securityhub_no_session_context.json")]

def fresh(text):
    e = json.loads(text)
    e["detail"]["eventID"] = str(uuid.uuid4())
    return e

def sqs_batch(k):
    return {"Records": [{"messageId": str(uuid.uuid4()), "body": json.dumps(fresh(fixtures[i % len(fixtures)])),
                         "eventSource": "aws:sqs", "awsRegion": "us-east-1"} for i in range(k)]}

queue = [("eb", fresh(fixtures[i % len(fixtures)])) for i in range(n)] + [("sqs10", sqs_batch(10)) for _ in range(max(n // 10, 10))]
state = {"ready": None, "handed": {}, "done": {}, "kind": {}}
lock = threading.Condition()

# Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm holds the
# body until the client acknowledges the headers, which it delays by 40 ms (measured: every
# invocation then took 43 ms, whatever it did).
class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_GET(self):
        with lock:
            if state["ready"] is None:
                state["ready"] = time.perf_counter()
            while not queue:
                lock.wait(1)
                if state.get("stop"): return
            kind, event = queue.pop(0)
        rid = str(uuid.uuid4())
        body = json.dumps(event).encode()
        self.send_response(200)
        for k, v in (("Lambda-Runtime-Aws-Request-Id", rid), ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000)),
                     ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111122223333:function:tamperwatch"),
                     ("Content-Type", "application/json"), ("Content-Length", str(len(body)))):
            self.send_header(k, v)
        self.end_headers()
        with lock:
            state["handed"][rid] = time.perf_counter(); state["kind"][rid] = kind
        self.wfile.write(body)
    def do_POST(self):
        t = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        rid = self.path.split("/")[4]
        with lock:
            state["done"][rid] = (t, self.path.endswith("/response"))
            lock.notify_all()
        self.send_response(202); self.send_header("Content-Length", "0"); self.end_headers()

class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            state["alerts"] = state.get("alerts", 0) + 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()

class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The function is killed at the end, in the middle of its next request.
        if not state.get("stop"):
            super().handle_error(request, client_address)

api = Server(("127.0.0.1", 0), Api)
hook = Server(("127.0.0.1", 0), Hook)
for s in (api, hook):
    threading.Thread(target=s.serve_forever, daemon=True).start()
env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.server_address[1]}",
       "AWS_LAMBDA_FUNCTION_NAME": "tamperwatch", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
       "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "bench", "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
       "TAMPERWATCH_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_address[1]}/hook", "TAMPERWATCH_WEBHOOK_SECRET": "bench"}
total = len(queue)
start = time.perf_counter()
proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 300
with lock:
    while len(state["done"]) < total and time.time() < deadline and proc.poll() is None:
        lock.wait(1)
hwm = "?"
try:
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith("VmHWM:"):
            hwm = " ".join(line.split()[1:])
except OSError:
    pass
with lock:
    state["stop"] = True; lock.notify_all()
proc.kill(); proc.wait()
if len(state["done"]) < total:
    sys.exit(f"only {len(state['done'])} of {total} invocations answered")
errors = sum(1 for _, ok in state["done"].values() if not ok)
def stats(kind):
    ms = sorted((state["done"][r][0] - state["handed"][r]) * 1000 for r, k in state["kind"].items() if k == kind)
    return f"median {statistics.median(ms):.2f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.2f} ms over {len(ms)}"
print(f"binary:                {binary} ({os.path.getsize(binary) / 1e6:.1f} MB)")
print(f"cold start (to ready): {(state['ready'] - start) * 1000:.1f} ms")
print(f"handler, EventBridge:  {stats('eb')}")
print(f"handler, SQS batch/10: {stats('sqs10')}")
print(f"peak memory (VmHWM):   {hwm}")
print(f"failed invocations:    {errors}")
print(f"alerts delivered:      {state.get('alerts', 0)} (signed webhook posts, for {n} + {len(state['kind']) - n} x 10 events)")
PY
