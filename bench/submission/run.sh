#!/bin/sh
# bench/submission/run.sh [OPTIONS] - tem vs Postfix submission throughput
# and queue-to-peer (smtp-sink) delivery rate, CPU per message.
# Options: see `bench/submission/run.sh --help` (run.py); README in bench/.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
