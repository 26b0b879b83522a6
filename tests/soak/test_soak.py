#!/usr/bin/python3
"""The edge server under load and abuse (issues 22 and 29): one real `dapdee-run serve`, 16
emulated devices from `dapdee-run load` streaming for --seconds, and, while they stream, hostile
clients: garbage bytes, a 4 GiB length prefix, a frame cut mid-way, 50 connections opened at once
and dropped, a client that connects and never sends, a hello followed by a plan of another model.

Asserts: the load finishes with no frame lost or wrong and no error; every hostile client gets the
documented answer (an error reply and/or the connection closed, within its timeout); the server
is still serving afterwards. With --check-rss (release builds; ASan's quarantine grows memory by
design) the server's RSS in the second half of the load stays within 8 MiB + 10% of the first
half's peak, and after the abuse it returns there.

Usage: test_soak.py TOOLS_DIR [--seconds 30] [--clients 16] [--check-rss]
Prints a summary line with the figures; exit 0 pass, 1 fail, 77 skip (dapdee-run not built).
"""
import argparse
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "models", "ee_alexnet.onnx")
DAG = os.path.join(ROOT, "profiles", "dags", "ee_alexnet.dag.json")
PROFILES = os.path.join(ROOT, "profiles", "predicted")


def frame(kind, payload):
    body = kind.encode() + payload
    return struct.pack(">I", len(body)) + body


def read_reply(sock, timeout):
    """The first frame the server sends back as (type, payload), or None when it closed first."""
    sock.settimeout(timeout)
    data = b""
    try:
        while len(data) < 5:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        n = struct.unpack(">I", data[:4])[0]
        while len(data) < 4 + n:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        return chr(data[4]), data[5:4 + n].decode("utf-8", "replace")
    except socket.timeout:
        return ("timeout", "")


def closed_within(sock, timeout):
    """True when the server closes the connection within `timeout` s (error replies read past)."""
    sock.settimeout(timeout)
    end = time.time() + timeout
    try:
        while time.time() < end:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:  # closed with our unread bytes in its buffer: a reset
        return True
    except socket.timeout:
        return False
    return False


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def float_tensor(name, dims):
    """An ONNX TensorProto of zeros, encoded by hand (dims=1, data_type=2, name=8, raw_data=9)."""
    count = 1
    for d in dims:
        count *= d
    raw = b"\0" * (4 * count)
    msg = b"".join(b"\x08" + varint(d) for d in dims) + b"\x10" + varint(1)
    msg += b"\x42" + varint(len(name)) + name.encode() + b"\x4a" + varint(len(raw)) + raw
    return msg


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Hostile:
    """The abusive clients, each with what it expects; results collected as (name, ok, detail)."""

    def __init__(self, port, digest, frame_timeout, plan):
        self.port, self.digest, self.frame_timeout, self.plan = port, digest, frame_timeout, plan
        self.results = []

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def expect_error_and_close(self, name, data, want):
        s = self.connect()
        s.sendall(data)
        r = read_reply(s, 5)
        ok = r is not None and r[0] == "E" and want in r[1] and closed_within(s, 5)
        self.results.append((name, ok, r))
        s.close()

    def run(self):
        hello = frame("H", json.dumps({"protocol": "dapdee-run/1", "model": "x", "digest": self.digest}).encode())
        self.expect_error_and_close("garbage bytes", b"\x00\x00\x00\x05Zhello garbage", "unknown frame type")
        self.expect_error_and_close("4 GiB length prefix", b"\xff\xff\xff\xffH", "outside")
        s = self.connect()  # a frame cut mid-way, then closed by the client
        s.sendall(struct.pack(">I", 1000) + b"H" + b"x" * 10)
        s.close()
        self.results.append(("frame cut mid-way", True, "sent and closed"))
        burst = [self.connect() for _ in range(50)]  # 50 at once, dropped
        for b in burst:
            b.close()
        self.results.append(("50 connections dropped", True, "opened and closed"))
        s = self.connect()  # silent: closed after --frame-timeout with an error reply
        t0 = time.time()
        r = read_reply(s, self.frame_timeout + 5)
        waited = time.time() - t0
        ok = r is not None and r[0] == "E" and "no hello" in r[1] and waited < self.frame_timeout + 3
        self.results.append(("silent client", ok, f"{r} after {waited:.1f} s"))
        s.close()
        s = self.connect()  # a trickle: one byte every 0.3 s cannot hold a frame open
        s.sendall(hello)
        read_reply(s, 5)
        t0 = time.time()
        part = struct.pack(">I", 200) + b"P"
        closed = False
        for k in range(int((self.frame_timeout + 4) / 0.3)):
            try:
                s.sendall(part[k:k + 1] if k < len(part) else b"x")
            except OSError:
                closed = True
                break
            time.sleep(0.3)
        waited = time.time() - t0
        self.results.append(("trickled frame", closed and waited < self.frame_timeout + 3, f"closed after {waited:.1f} s"))
        s.close()
        s = self.connect()  # a flood: 400 valid frames sent without reading a reply
        s.sendall(hello)
        read_reply(s, 5)
        s.sendall(frame("P", json.dumps({"exit": self.plan["exit"], "V_e": self.plan["V_e"]}).encode()))
        read_reply(s, 10)
        one = frame("T", float_tensor("input", [1, 3, 32, 32]))
        sent, t0 = 0, time.time()
        s.settimeout(1)
        try:
            for k in range(400):
                s.sendall(frame("F", json.dumps({"frame": k, "tensors": 1}).encode()) + one)
                sent += 1
        except OSError:
            pass
        # Limited, not buffered: the server stops reading it at --max-queued-frames (checked in
        # its 'throttled' count below); the others' frames keep their FIFO turn.
        self.results.append(("flood without reading", True, f"{sent} frames sent in {time.time() - t0:.1f} s"))
        s.close()
        s = self.connect()  # a hello, then a plan of another model
        s.sendall(hello)
        ok_hello = read_reply(s, 5)
        s.sendall(frame("P", json.dumps({"exit": "resnet50_fc", "V_e": ["/layer4/conv"]}).encode()))
        r = read_reply(s, 10)
        self.results.append(("plan of another model", ok_hello is not None and ok_hello[0] == "K" and r is not None
                             and r[0] == "E" and "cannot build" in r[1], r))
        s.close()


def start_server(tools, clients, frame_timeout):
    cmd = [os.path.join(tools, "dapdee-run"), "serve", MODEL, "--listen", "127.0.0.1:0", "--max-clients", str(clients + 8),
           "--frame-timeout", str(frame_timeout)]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r"digest (\S+)\) on 127\.0\.0\.1:(\d+)", line)
    if not m:
        p.kill()
        sys.exit(f"soak: serve did not start: {line}")
    return p, m.group(1), int(m.group(2))


def make_plan(tools, out):
    plan = subprocess.run([os.path.join(tools, "dapdee-plan"), DAG, "--device", os.path.join(PROFILES, "ee_alexnet.rpi4.json"),
                           "--edge", os.path.join(PROFILES, "ee_alexnet.edge-t4.json"), "--network", "4G", "-o", out],
                          capture_output=True, text=True)
    if plan.returncode != 0:
        sys.exit(f"soak: dapdee-plan failed: {plan.stderr}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tools")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--fps", type=float, default=10)
    ap.add_argument("--check-rss", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.tools, "dapdee-run")):
        print("soak: SKIPPED: dapdee-run is not built (OpenCV DNN absent)")
        return 77
    tmp = tempfile.mkdtemp(prefix="dapdee-soak-")
    plan = os.path.join(tmp, "plan.json")
    make_plan(a.tools, plan)
    frame_timeout = 2
    server, digest, port = start_server(a.tools, a.clients, frame_timeout)
    rss = []  # (seconds since the load started, KiB)
    done = threading.Event()

    def sample():
        t0 = time.time()
        while not done.is_set():
            rss.append((time.time() - t0, rss_kib(server.pid)))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    report = os.path.join(tmp, "load.json")
    load = subprocess.Popen([os.path.join(a.tools, "dapdee-run"), "load", MODEL, "--plan", plan, "--connect", f"127.0.0.1:{port}",
                             "--clients", str(a.clients), "--fps", str(a.fps), "--arrivals", "poisson", "--duration",
                             str(a.seconds), "-o", report], stderr=subprocess.PIPE, text=True)
    sampler.start()
    time.sleep(min(5, a.seconds / 3))
    hostile = Hostile(port, digest, frame_timeout, json.load(open(plan)))
    hostile.run()
    _, load_err = load.communicate(timeout=a.seconds * 4 + 120)
    done.set()
    sampler.join()
    after_abuse = rss_kib(server.pid)
    # The server still serves a well-behaved client afterwards.
    again = subprocess.run([os.path.join(a.tools, "dapdee-run"), "load", MODEL, "--plan", plan, "--connect", f"127.0.0.1:{port}",
                            "--clients", "1", "--fps", "5", "--frames", "5", "-o", os.devnull], capture_output=True, text=True)
    server.terminate()
    _, serve_err = server.communicate(timeout=30)
    failures = []
    if load.returncode != 0:
        failures.append(f"the load failed ({load.returncode}): {load_err.strip()}")
    if again.returncode != 0:
        failures.append(f"a client after the abuse failed: {again.stderr.strip()}")
    integrity = {}
    if os.path.exists(report):
        r = json.load(open(report))
        integrity = r["integrity"]
        if integrity["lost"] or integrity["wrong"] or integrity["results"] != integrity["offloaded"]:
            failures.append(f"frames lost or wrong: {integrity}")
        if integrity["frames"] != a.clients * round(a.seconds * a.fps):
            failures.append(f"{integrity['frames']} frames, expected {a.clients * round(a.seconds * a.fps)}")
    for name, ok, detail in hostile.results:
        print(f"soak: hostile: {name}: {'ok' if ok else 'FAILED'} ({detail})")
        if not ok:
            failures.append(f"hostile client '{name}' was not answered as documented: {detail}")
    half = a.seconds / 2
    first = max([k for t, k in rss if t <= half] or [0])
    second = max([k for t, k in rss if t > half] or [0])
    print(f"soak: {a.clients} clients x {a.seconds:g} s at {a.fps:g} fps (Poisson): {integrity.get('results', 0)} results, "
          f"{integrity.get('wrong', '?')} wrong, {integrity.get('lost', '?')} lost; server RSS peak {first / 1024:.1f} MiB "
          f"(first half), {second / 1024:.1f} MiB (second half), {after_abuse / 1024:.1f} MiB at the end; "
          f"{len(rss)} samples")
    stats = serve_err.strip().splitlines()[-1]
    print("soak: " + stats)
    throttled = re.search(r"(\d+) throttled", stats)
    if not throttled or int(throttled.group(1)) == 0:
        failures.append("the flooding client was never throttled (--max-queued-frames)")
    if a.check_rss and (second > first * 1.10 + 8 * 1024 or after_abuse > first * 1.10 + 8 * 1024):
        failures.append(f"server RSS grew: {first} KiB -> {second} KiB (end {after_abuse} KiB)")
    for f in failures:
        print("soak: FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
