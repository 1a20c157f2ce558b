/*
 * spool - the message sink: a message being received is written to a
 * spool file through a fixed buffer, never held whole in memory.
 *
 * Trust: the bytes are the client's (already decoded by the protocol:
 * LF line ends); the spool only counts and stores them. Memory per
 * message is two MSG_SPOOL_BUF buffers plus the header section, which is
 * kept in memory up to MSG_HEAD_MAX (checks, trace headers and DKIM read
 * it there; a longer header section continues in the file and is seen
 * by them as body).
 *
 * Threads: the spool belongs to one event loop. Writes go to the worker
 * pool (util/worker.h), one at a time, double-buffered: the protocol
 * fills one buffer while the other is written. When both are busy the
 * protocol stops reading until ready() runs. The file is created on the
 * first write with O_TMPFILE in the spool directory (no name, so nothing
 * is left behind by a crash), and is never fsynced: the durable copies
 * are the Maildir files and the queue file made from it.
 *
 * Use (on the loop):
 *   sp = msg_spool_new(loop, dir, ready, arg);
 *   loop: b = msg_spool_buf(sp, &room); decode at most room - 1 input
 *         bytes into b (a decoder writes at most one byte more than it
 *         consumes); msg_spool_wrote(sp, old_len);
 *         if (!msg_spool_flush(sp)) wait for ready();
 *   msg_spool_finish(sp) until it returns true (else wait for ready());
 *   then msg_spool_error(), msg_spool_fd(), msg_spool_head() ...
 *   msg_spool_free(&sp)  (any time; a write in flight then frees it).
 */
#ifndef TEM_MSG_SPOOL_H
#define TEM_MSG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct loop;
struct msg_spool;

/* The write buffer (two per message in flight); a message that fits in
 * one is never written (128 KiB: a typical message with attachments). */
#define MSG_SPOOL_BUF		(128 * 1024)
/* The header section kept in memory; beyond it the header is body to
 * tem's checks (Postfix's header_size_limit is 100 KiB). */
#define MSG_HEAD_MAX		(256 * 1024)

/* A spool writing into the directory dir (must exist). ready(arg) runs
 * on loop when a caller that was told to wait may go on. */
struct msg_spool *msg_spool_new(struct loop *loop, const char *dir,
    void (*ready)(void *arg), void *arg);
/* Frees sp (NULLs *sp); a write in flight finishes first, alone. */
void msg_spool_free(struct msg_spool **sp);

/* The buffer to append decoded bytes to, and how many more fit. */
struct buf *msg_spool_buf(struct msg_spool *sp, size_t *room_r);
/* The caller appended to the buffer from old_len on: follows the header
 * section and counts. */
void msg_spool_wrote(struct msg_spool *sp, size_t old_len);
/* Hands a nearly full buffer to the writer. false: the caller must stop
 * feeding until ready() (both buffers are busy). */
bool msg_spool_flush(struct msg_spool *sp);
/* Writes what is left. true when every byte is written (or failed);
 * false: wait for ready(), then call it again. A message that fits in
 * one buffer is never written: it stays in memory (msg_spool_mem), so a
 * small message costs no file and no thread hop. */
bool msg_spool_finish(struct msg_spool *sp);
/* After finish: the whole message when it stayed in memory, else NULL
 * (then it is the file). Valid until msg_spool_free. */
const char *msg_spool_mem(const struct msg_spool *sp, size_t *len_r);

/* True once the header section is complete (its empty line passed, or
 * MSG_HEAD_MAX reached): msg_spool_head() no longer changes. */
bool msg_spool_head_done(const struct msg_spool *sp);
/*
 * A tap sees every body byte (those after the head) as it is written, in
 * order, on the writer's thread (a worker): the DKIM body hashes are
 * computed there as the message passes, never on the loop and without
 * reading the spool back. Set it once, when msg_spool_head_done() turns
 * true (before the next flush); buffers written before held only head.
 * The spool owns arg until msg_spool_untap() (after finish: nothing is
 * in flight then) hands it back; free_arg(arg) runs if the spool is
 * freed first (after any write in flight).
 */
void msg_spool_tap(struct msg_spool *sp,
    void (*tap)(void *arg, const char *p, size_t n),
    void (*free_arg)(void *arg), void *arg);
void *msg_spool_untap(struct msg_spool *sp);

/* After finish: 0, or the errno of the first failed write (ENOSPC, EIO);
 * after an error further bytes are counted but not written. */
int msg_spool_error(const struct msg_spool *sp);
/* Bytes given (all of them, written or not). */
uint64_t msg_spool_size(const struct msg_spool *sp);
/* The spool file (offsets from 0 = the first message byte), -1 when
 * nothing was written. Owned by sp; dup() it to keep it longer. */
int msg_spool_fd(const struct msg_spool *sp);
/* The header section as far as kept (with its empty line when it ended
 * within MSG_HEAD_MAX); the body is the file from its length on. */
const char *msg_spool_head(const struct msg_spool *sp, size_t *len_r);

#endif
