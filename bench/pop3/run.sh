#!/bin/sh
# bench/pop3/run.sh [OPTIONS] - POP3 download rate (messages/s, MB/s, CPU
# per message), tem against a private Dovecot POP3 on the same machine.
# Options: see `bench/pop3/run.sh --help` (run.py); README in bench/.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
