#!/usr/bin/env python3
"""Runs a command under a pseudo-terminal and reports what a person at that terminal saw.

argv: a JSON object {"argv": [...], "cwd": "...", "env": {...}, "stdout_file": path or null,
"send": [{"after": "<text seen>" or null, "delay": seconds, "data": "..."}], "timeout": s}.
With stdout_file, the command's stdout goes to that file and only stderr (and stdin) is the
terminal. Prints one JSON object: exit code (128+n for a signal), the terminal text, and the
terminal's `stty -a` flags after the run.
"""
import fcntl, json, os, pty, select, signal, subprocess, sys, time, termios

spec = json.loads(sys.argv[1])
import struct
master, slave = pty.openpty()
# A real terminal has a size; without one, spinners redraw as if every line wrapped.
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
env = dict(os.environ)
env.update(spec.get("env", {}))
for k in spec.get("unset", []):
    env.pop(k, None)
stdout = open(spec["stdout_file"], "wb") if spec.get("stdout_file") else slave
def controlling_tty():
    # A new session whose controlling terminal is the pty: \x03 then becomes SIGINT, as on a real one.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
proc = subprocess.Popen(spec["argv"], cwd=spec.get("cwd"), env=env, stdin=slave, stdout=stdout, stderr=slave,
                        preexec_fn=controlling_tty)
os.close(slave)
seen = b""
sends = list(spec.get("send", []))
deadline = time.time() + spec.get("timeout", 60)
armed_at = None
def lflag():
    return termios.tcgetattr(master)[3]
raw_seen = False
while True:
    if sends:
        s = sends[0]
        if s.get("after") is None or s["after"].encode() in seen:
            if armed_at is None:
                armed_at = time.time()
            if time.time() - armed_at >= s.get("delay", 0):
                # While the command runs, its terminal must keep ISIG (Ctrl-C is a signal).
                if not (lflag() & termios.ISIG):
                    raw_seen = True
                os.write(master, s["data"].encode())
                sends.pop(0)
                armed_at = None
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            chunk = b""
        if chunk:
            seen += chunk
    if proc.poll() is not None:
        # Drain what is left.
        while True:
            r, _, _ = select.select([master], [], [], 0.1)
            if not r:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        break
    if time.time() > deadline:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        break
flags = lflag()
code = proc.returncode
if code is not None and code < 0:
    code = 128 - code
print(json.dumps({
    "exitCode": code,
    "text": seen.decode("utf-8", "replace"),
    "isig": bool(flags & termios.ISIG),
    "icanon": bool(flags & termios.ICANON),
    "echo": bool(flags & termios.ECHO),
    "rawWhileRunning": raw_seen,
}))
