#!/bin/sh
# bench/imap/run.sh [OPTIONS] - tem vs Dovecot: IMAP mixed-load ops/s (a
# login every 10 commands, long sessions) and memory per idle and per IDLE
# session at 1,000 and 10,000 sessions.
# Options: see `bench/imap/run.sh --help` (run.py); README in bench/.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
