/*
 * cli_sieve_test - `tem sieve test`: compile a Sieve script and run it on
 * one message file, printing the resulting actions in a canonical form
 * that tests compare exactly (tests/sieve-corpus/, where the same script
 * and message also go through Pigeonhole's sieve-test).
 *
 *   tem sieve test [--from ADDR] [--to ADDR] [--user ADDR]
 *       [--address ADDR]... [--include-dir DIR] [--global-dir DIR]
 *       [--mailbox-exists NAME]... [--duplicate ID]...
 *       [--before SCRIPT]... [--now EPOCH] [--zone +HHMM] SCRIPT MESSAGE
 *
 * --from: MAIL FROM ("" for <>; default sender@example.org); --to: RCPT TO
 * (default me@example.com); --user: the account's address (default --to);
 * --address: more addresses of the user (vacation); --include-dir: where
 * include :personal finds NAME.sieve (default: SCRIPT's directory);
 * --global-dir: include :global (default DIR/global); --mailbox-exists:
 * a mailbox mailboxexists reports (none otherwise); --duplicate: an id the
 * duplicate test has seen (any handle); --before: a script run first, as
 * the config's sieve_before (one sieve_run of the sequence); --now/--zone:
 * the current time (default: the clock, the local zone).
 *
 * Output, one action per line, in the run's order (the implicit keep
 * last):
 *   keep [flags="\\Flagged a"]
 *   fileinto "Lists/x" [create] [copy] [flags="..."]
 *   redirect "a@b" [copy]
 *   reject "text" | ereject "text"
 *   discard
 *   vacation to="a@b" from="me@x" subject="..." seconds=N handle="..."
 *       [mime] reason="..."
 *   implicit-keep [flags="..."]
 *   header "Name: value"      (every field of the header section when
 *                              editheader changed it, unfolded, in order)
 *   error "line N: what"      (a run-time error; implicit-keep follows)
 * Flags are sorted case-insensitively, system flags spelled as RFC 3501
 * does (\Seen), then exact duplicates dropped (keywords keep their
 * case). Strings escape \ " CR LF as \\ \" \r \n. A compile error
 * prints "SCRIPT:LINE: msg" on stderr and exits 1; usage errors exit 2.
 */
#ifndef TEM_CLI_SIEVE_TEST_H
#define TEM_CLI_SIEVE_TEST_H

/* argv[0] is "test". Returns the exit status. */
int cli_sieve_test(int argc, char **argv);

#endif
