/*
 * learn - spam learning: messages a user files as spam or as ham are fed
 * to rspamd's controller (`/learnspam`, `/learnham`) in the background.
 *
 * Trust: callers are tem's own IMAP commands acting for a logged-in user
 * (who decides what is spam); the controller's answers are untrusted
 * (learn_http.c). The password is never logged.
 *
 * Model: one learner thread, started by the first message and stopped by
 * spam_learn_stop() at server stop, takes messages from a queue of at
 * most SPAM_LEARN_QUEUE_MAX and POSTs them one at a time with blocking
 * I/O and timeouts (learn_http.h). A submit never blocks and never reads
 * the message: the caller hands over an open descriptor (so a rename or
 * a MOVE after it changes nothing), the learner reads the bytes. Each
 * message gives one log line: "<id> spam learn user=U class=spam|ham
 * status=N answer=\"...\"" or "... learn-failed ... error=\"...\"".
 */
#ifndef TEM_SPAM_LEARN_H
#define TEM_SPAM_LEARN_H

#include <stdbool.h>

/* Messages waiting (each an open file): a user moving a whole folder
 * into Junk gets its first 64 learned, the rest dropped with a log line,
 * and a stalled rspamd never holds more than 64 descriptors. */
#define SPAM_LEARN_QUEUE_MAX	64

enum spam_class { SPAM_CLASS_SPAM, SPAM_CLASS_HAM };

/* "spam" or "ham". */
const char *spam_class_name(enum spam_class cls);

/* How many more messages the queue takes now (a hint for callers that
 * open files: open no more than this). */
unsigned spam_learn_room(void);

/*
 * Queues the message in fd (read from offset 0; the learner closes it) to
 * be learned as cls by the controller at controller ("host[:port]") with
 * password. id is the session's log id, user the account (both copied).
 * Never blocks. When the queue is full or the learner is stopped, fd is
 * closed and false returned: the caller logs the drop (once per command).
 */
bool spam_learn_submit(const char *id, const char *user,
    const char *controller, const char *password, enum spam_class cls,
    int fd);

/*
 * Server stop: drops what waits (one log line with the count), cancels
 * the request in flight at once, joins the thread. Later submits are
 * refused. Safe when the learner never started.
 */
void spam_learn_stop(void);

/* Waits until the queue is empty and nothing is in flight (tests). */
void spam_learn_drain(void);

#endif
