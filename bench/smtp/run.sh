#!/bin/sh
# bench/smtp/run.sh [OPTIONS] - tem vs Postfix inbound SMTP-to-Maildir
# throughput, CPU per message, and tem's memory per idle session.
# Options: see `bench/smtp/run.sh --help` (run.py); README in bench/.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
