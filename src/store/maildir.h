/*
 * maildir - durable delivery into Maildir++ folders with group commit.
 *
 * Trust: runs with the server's privileges on paths built by the caller
 * from validated account data (never from raw client input).
 *
 * A delivery job is one message for one or more local mailboxes. Jobs go
 * to a committer thread that takes every job waiting, writes each file in
 * its mailbox's tmp/, makes all of them durable with one sync, renames them
 * into new/, makes the renames durable with a second sync, and then posts
 * each job's completion back to the loop that submitted it. Many messages
 * thus share one sync (STYLE.md habit 9), and no loop waits on the disk.
 * A job's final 250 must wait for its completion.
 */
#ifndef TEM_MAILDIR_H
#define TEM_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include "util/gcommit.h"

struct loop;

struct maildir_rcpt {
	char	*maildir;	/* the folder holding cur/ new/ tmp/ */
	char	*prefix;	/* header lines for this recipient only */
	size_t	 prefix_len;
	int	 result;	/* on completion: 0, or an errno value */
	char	*filename;	/* on success: the base name in new/ */
	char	*label;		/* the caller's (e.g. the address, for logs) */
	/* A copy with flags (Sieve imap4flags): NULL, or the Maildir info
	 * letters ("FS", keyword letters): the file goes straight into cur/
	 * as "<base>:2,<info>", as Dovecot's LDA does, since new/ holds
	 * only files without info. */
	char	*info;
	/* Bytes of the job's memory content this copy leaves out: its own
	 * header section (an edited one, Sieve editheader) is at the end of
	 * its prefix instead of the shared one at the start of body. */
	size_t	 body_skip;
};

struct maildir_job {
	struct maildir_rcpt	*rcpts;
	int			 nrcpt;
	/* The content shared by all recipients: body[0..body_len) from
	 * memory, then body_file_len bytes of the file body_fd from
	 * body_file_off (copied with copy_file_range; body_fd is only read
	 * when body_file_len > 0 and stays the caller's). Either part may be
	 * empty: IMAP and bounces give memory, SMTP a small header prefix in
	 * memory and the spooled message in the file. */
	const char		*body;
	size_t			 body_len;
	int			 body_fd;
	uint64_t		 body_file_off;
	uint64_t		 body_file_len;
	struct loop		*origin;
	void			(*done)(struct maildir_job *job);
	void			*arg;	/* for the caller */
	/* private */
	struct gcommit_job	 gj;
	struct maildir_job	*next;
};

/* Starts and stops the committer thread; stop finishes queued jobs. */
void maildir_committer_start(const char *hostname);
void maildir_committer_stop(void);
/* Queues job; job->done(job) runs later on job->origin. */
void maildir_submit(struct maildir_job *job);
/* Blocking: delivers one job now on this thread (for tools and tests). */
void maildir_deliver_now(struct maildir_job *job);
/* Creates dir/{cur,new,tmp} as needed; 0 or -1 with errno. */
int maildir_make(const char *dir);
/* Frees the rcpts' strings and the array (not the job itself). */
void maildir_job_clear(struct maildir_job *job);

#endif
