#!/usr/bin/env bash
# srun --pty: task 0 on a pseudo-terminal of its node, driven from a real terminal here (a
# python3 pty): tty and test -t inside, an interactive bash reading typed commands and its exit
# code, the window size at the start and after a resize, the user's terminal restored after
# raw mode, --pty without a terminal, and --pty with more than one task.
SRC=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; FINISHED=1; exit 77; }
DRIVE="python3 $SRC/pty_drive.py"
printf 'KillWait=1\n' > "$WORK/slurm.conf"
start_cluster --nodes 2 --cpus-per-node 2 --config "$WORK/slurm.conf"

# A terminal inside, sized as the outer one; the user's terminal is as it was afterwards.
out=$($DRIVE --size 33x101 -- srun --pty bash -c 'tty; test -t 0 && test -t 1 && test -t 2 && echo all-tty; stty size; exit 4' 2>&1)
expect_match "$out" $'(^|\n)/dev/pts/[0-9]+\r?($|\n)' "tty inside srun --pty"
expect_match "$out" $'(^|\n)all-tty\r?($|\n)' "stdin, stdout and stderr are the terminal"
expect_match "$out" $'(^|\n)33 101\r?($|\n)' "the outer terminal's size inside"
expect_match "$out" $'(^|\n)rc=4($|\n)' "srun --pty exit code"
expect_match "$out" $'(^|\n)restored=yes($|\n)' "the terminal is restored after raw mode"

# An interactive shell on the node: it reads what is typed, job control works, and the typed
# exit code is srun's. A resize of the outer terminal reaches it (SIGWINCH -> TIOCSWINSZ).
out=$($DRIVE --size 24x80 --type 'echo "typed-$((6*7)) $SLURMD_NODENAME"\r' \
  --type '[[ $- == *m* ]] && echo "jc-$((40+2))"\r' --resize 40x132 --type 'stty size\r' \
  --type 'exit 7\r' -- srun --pty bash --norc --noprofile -i 2>&1)
# (Lines the shell prints may start with its terminal escapes, hence no anchor at their start.)
expect_match "$out" $'typed-42 node1\r?\n' "a typed command runs on the node"
expect_match "$out" $'jc-42\r?\n' "job control in the interactive shell"
expect_match "$out" $'[^0-9]40 132\r?\n' "a resized terminal inside"
expect_match "$out" $'(^|\n)rc=7($|\n)' "exit 7 typed in the shell"
expect_match "$out" $'(^|\n)restored=yes($|\n)' "the terminal is restored after the shell"

# Ctrl-C typed at the terminal interrupts the remote program, not srun.
out=$($DRIVE --type '\x03' -- srun --pty bash -c 'trap "echo got-int; exit 9" INT; sleep 30 & wait' 2>&1)
expect_match "$out" $'got-int\r?\n' "Ctrl-C reaches the remote program"
expect_match "$out" $'(^|\n)rc=9($|\n)' "srun's exit code after the remote Ctrl-C"

# Without a terminal (Slurm allows it): no raw mode, the input still reaches the shell.
out=$(printf 'echo piped-$((1+1))\nexit 3\n' | timeout 30 srun --pty bash --norc -i 2>&1)
rc=$?
expect_eq "$rc" "3" "srun --pty with piped input"
expect_match "$out" $'[^(]piped-2\r?\n' "piped input reaches the terminal's shell"
out=$(timeout 30 srun --pty tty </dev/null 2>&1)
expect_match "$out" '^/dev/pts/[0-9]+' "srun --pty with /dev/null as input"

# Several tasks: only task 0 has the terminal; the others' output goes nowhere, as in Slurm.
out=$($DRIVE -- srun -N2 -n2 --pty bash -c 'echo "task-$SLURM_PROCID"; test -t 1 && echo "tty-$SLURM_PROCID"; true' 2>&1)
expect_match "$out" $'(^|\n)task-0\r?\n' "task 0 speaks on the terminal"
expect_match "$out" $'(^|\n)tty-0\r?\n' "task 0 is on the terminal"
if grep -q "task-1" <<<"$out"; then fail "task 1's output should go nowhere: $out"; else ok; fi
expect_match "$out" $'(^|\n)rc=0($|\n)' "srun -n2 --pty exit code"

# salloc without a command runs the user's login shell (from the passwords database) here, as
# Slurm's does; srun --pty inside it reaches a node.
login_shell=$(getent passwd "$(id -u)" | cut -d: -f7)
if [[ "$login_shell" =~ /(bash|sh|dash|zsh)$ ]]; then
  out=$($DRIVE --pause 2 --type 'echo "in-salloc-$SLURM_JOB_NUM_NODES"\r' \
    --type 'srun --pty bash --norc -c "tty; exit 6"; echo "srun-rc-$?"\r' --type 'exit 5\r' \
    -- salloc -N1 2>&1)
  expect_match "$out" $'in-salloc-1\r?\n' "salloc without a command runs a shell here"
  expect_match "$out" $'/dev/pts/[0-9]+\r?\n' "srun --pty inside salloc's shell"
  expect_match "$out" $'srun-rc-6\r?\n' "srun --pty's exit code inside salloc"
  expect_match "$out" $'(^|\n)rc=5($|\n)' "salloc returns its shell's exit code"
else
  echo "note: login shell $login_shell is not a shell this test can drive; salloc part skipped"
fi

finish
