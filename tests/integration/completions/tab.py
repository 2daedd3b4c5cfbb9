#!/usr/bin/env python3
"""Presses Tab in a real interactive shell on a pty and prints what the shell showed.

Usage: tab.py SHELL SETUP KEYS
  SHELL  bash, zsh or fish, started without any user configuration
  SETUP  shell commands run first (each line waits for the prompt)
  KEYS   what is typed before Tab (Tab itself is added)

After Tab it types Ctrl-U and `echo DO''NE`: the shell reads keys in order, so once
DONE is printed whatever the completion showed is on the screen. Prints the screen
output between Tab and DONE, without terminal escapes. Exit 1 on a timeout."""

import os
import pty
import re
import select
import sys
import time

PROMPT = b"READY> "
# The prompt is set with quotes in the middle, so the echo of the command that sets it
# does not look like the prompt itself.
START = {
    "bash": (["bash", "--norc", "--noprofile", "-i"], "PS1='RE''ADY> '; bind 'set show-all-if-ambiguous on'; bind 'set bell-style none'"),
    "zsh": (["zsh", "-f", "-i"], "PS1='RE''ADY> '; unsetopt list_ambiguous beep; PROMPT_EOL_MARK=''"),
    "fish": (["fish", "--no-config", "-i"], "function fish_prompt; echo -n 'RE''ADY> '; end; set -g fish_greeting ''"),
}


def read_until(fd, marker, seconds):
    out = b""
    deadline = time.monotonic() + seconds
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stderr.write("tab.py: timed out waiting for %r; the shell showed:\n%r\n" % (marker, out[-2000:]))
            sys.exit(1)
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                sys.stderr.write("tab.py: the shell exited; it showed:\n%r\n" % out[-2000:])
                sys.exit(1)
            out += chunk
    return out


def clean(raw):
    text = raw.decode("utf-8", "replace")
    text = re.sub(r"\x1b\][^\x07\x1b]*(\x07|\x1b\\)", "", text)  # OSC (titles)
    text = re.sub(r"\x1b\[[0-9;?>=]*[ -/]*[@-~]", " ", text)  # CSI (colours, moves)
    text = re.sub(r"\x1b[()][0-9A-Za-z]|\x1b[=>78M]|\x1b.", "", text)
    return text.replace("\r", "").replace("\x07", "")


def main():
    shell, setup, keys = sys.argv[1], sys.argv[2], sys.argv[3]
    argv, prompt_cmd = START[shell]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    try:
        time.sleep(0.1)
        os.write(fd, prompt_cmd.encode() + b"\r")
        read_until(fd, PROMPT, 30)
        for line in setup.splitlines():
            os.write(fd, line.encode() + b"\r")
            read_until(fd, PROMPT, 30)
        os.write(fd, keys.encode())
        read_until(fd, keys.split()[-1].encode(), 30)
        os.write(fd, b"\t")
        os.write(fd, b"\x15echo DO''NE\r")
        shown = read_until(fd, b"DONE\r\n", 30)
        sys.stdout.write(clean(shown.split(b"DONE\r\n")[0]))
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


main()
