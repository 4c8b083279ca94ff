#!/usr/bin/env python3
"""Runs a command on a fresh pseudo-terminal, as a user at a terminal would, and reports.

usage: pty_drive.py [--size ROWSxCOLS] [--type TEXT]... [--resize ROWSxCOLS] [--timeout S] -- CMD...

The command runs as the foreground of its own session with the terminal as its controlling one.
Each --type is written to the terminal after a pause (as typed keys; "\\r" for Enter), a
--resize changes the terminal's size (the kernel sends SIGWINCH) before the typing that follows
it. Prints everything the command wrote, then "rc=N" and "restored=yes|no" (whether the
terminal's settings after the command are the ones before it).
"""
import argparse
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def set_size(fd, spec):
    rows, cols = (int(x) for x in spec.split("x"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="24x80")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--pause", type=float, default=1.0)
    ap.add_argument("--type", dest="actions", action="append", type=lambda t: ("type", t))
    ap.add_argument("--resize", dest="actions", action="append", type=lambda t: ("resize", t))
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    master, slave = pty.openpty()
    set_size(slave, a.size)
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execvp(cmd[0], cmd)
    out = bytearray()
    deadline = time.time() + a.timeout
    actions = list(a.actions or [])
    next_action = time.time() + a.pause
    status = None
    while time.time() < deadline:
        if actions and time.time() >= next_action:
            kind, text = actions.pop(0)
            if kind == "type":
                os.write(master, text.encode().decode("unicode_escape").encode())
            else:
                set_size(master, text)
            next_action = time.time() + a.pause
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            out += data
        done, st = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            status = st
            # What is still in the terminal.
            while select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode(errors="replace"))
        print("\nrc=timeout")
        return
    after = termios.tcgetattr(slave)
    sys.stdout.write(out.decode(errors="replace"))
    rc = os.waitstatus_to_exitcode(status)
    print("\nrc=%d" % (rc if rc >= 0 else 128 - rc))
    print("restored=%s" % ("yes" if after == before else "no"))


main()
