#!/bin/sh
# bench/cluster/run.sh [OPTIONS] - tem on one PostgreSQL with 1, 2 and 3
# nodes beside the embedded backend: SMTP receive and the IMAP mixed load,
# rate, CPU per message (tem, postgres), top statements.
# Options: see `bench/cluster/run.sh --help` (run.py); README in bench/.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
