/*
 * milter_chain_int - the chain's state, shared by milter_chain.c (the
 * filters, SMTP-stage events, failures) and milter_message.c (the
 * message phase). Internal to src/milter.
 */
#ifndef TEM_MILTER_CHAIN_INT_H
#define TEM_MILTER_CHAIN_INT_H

#include <sys/socket.h>

#include "milter/milter_chain.h"
#include "milter/milter_conn.h"

#define MILTER_FILTERS_MAX	16	/* = conf's list limit */
#define MILTER_STAGES		(SMFIM_EOH + 1)	/* macro stages */

enum milter_fstate {
	MF_CONNECTING,	/* connect or negotiation under way */
	MF_READY,
	MF_FAILED,	/* broke; default tempfail/reject answers for it */
	MF_OFF,		/* left out for the session (accept at connect,
			   shutdown, broke with default accept) */
};

struct milter_filter {
	struct milter_chain	*ch;
	unsigned		 idx;
	char			*name;
	struct sockaddr_storage	 sa;
	unsigned		 salen;
	struct milter_conn	*conn;
	enum milter_fstate	 st;
	uint32_t		 proto;		/* negotiated SMFIP_* */
	bool			 tx_off;	/* accepted this transaction */
	bool			 skip_body;	/* SKIP: no more chunks */
	bool			 in_tx;		/* in a transaction: ABORT
						   ends it (not after EOM) */
	char			*symlist[MILTER_STAGES];	/* macro
						   lists it asked for, or
						   NULL: the default */
};

enum milter_op { MOP_NONE, MOP_EVENT, MOP_MESSAGE };
/* The message phase of the filter being served. */
enum milter_mstep { MS_DATA, MS_HEADERS, MS_EOH, MS_BODY, MS_EOM };

struct milter_body_job;

struct milter_chain {
	struct loop		*loop;
	char			*logid;
	unsigned		 connect_timeout, command_timeout,
				 content_timeout, default_action;
	char			*hostname, *daemon, *client_ip, *spool_dir;
	char			 client_port[8];
	struct sockaddr_storage	 peer;
	bool			 have_peer;
	uint64_t		 size_limit;
	char			*macro[MILTER_M_COUNT];
	struct milter_filter	 f[MILTER_FILTERS_MAX];
	unsigned		 n;

	/* the operation under way */
	enum milter_op		 op;
	char			 cmd;		/* SMFIC_* of an event */
	struct buf		 evpkt;		/* its packet (without macros) */
	unsigned		 cur;		/* the filter served */
	bool			 settling;	/* answer posted, not yet given */
	struct loop_timer	*post;		/* gives the answer */
	milter_done_fn		*done;
	void			*arg;
	struct milter_answer	 ans;
	bool			 discard;	/* a filter said discard */
	bool			 data_done;	/* DATA went as an event */
	bool			 rcpt_rej;	/* the RCPT event is a refused one */
	bool			 in_done;	/* done() runs */
	bool			 freed;		/* ... and freed the chain */

	/* the message phase */
	struct milter_msg	*msg;
	enum milter_mstep	 mstep;
	size_t			 hpos;		/* next header field */
	unsigned		 hfield;	/* ... its index */
	int			 own_at;	/* index of tem's own Received
						   field (hidden), or -1 */
	uint64_t		 bpos;		/* body octets sent */
	int			 bfd;		/* body source: fd ... */
	uint64_t		 boff, blen;
	const char		*bmem;		/* ... or memory */
	struct milter_body_job	*job;		/* a read in flight */
	bool			 eom_sent;	/* waiting for EOM's answer */
	bool			 quarantine;
	unsigned		 spam_marks;	/* in the head handed in */
	struct msg_spool	*newsp;		/* the body a filter is replacing */
	bool			 repl_cr;	/* a CR ended the last packet */
	uint64_t		 repl_size;
	struct buf		 repl_wait;	/* bytes the spool had no room for */
	bool			 eom_final;	/* EOM answered, newsp finishing */
	struct msg_spool	*bodysp;	/* the last finished replacement:
						   the body source from then on */
};

/* milter_chain.c */
/* The filter i broke (why): logged, default action applied to the
 * operation when i is the filter it waits for. */
void milter_filter_failed(struct milter_chain *ch, unsigned i,
    const char *why);
/* Sends macros for cmd then pkt (emptied) to filter i; timeout 0 for
 * no reply. */
void milter_send(struct milter_chain *ch, unsigned i, char cmd,
    struct buf *pkt, unsigned timeout);
/* Ends the operation with ch->ans: done runs from the loop. */
void milter_settle(struct milter_chain *ch);
/* A REJECT / TEMPFAIL / REPLYCODE final reply of the current filter
 * becomes the answer (logged); an invalid REPLYCODE or a CONN_FAIL
 * makes the filter broken (default action). */
void milter_refuse(struct milter_chain *ch, const struct milter_reply *r);
/* The default action as an answer for a broken filter: true when the
 * operation stops (tempfail/reject), false for accept. */
bool milter_default_answer(struct milter_chain *ch);

/* milter_macro.c */
/* Appends the SMFIC_MACRO packet filter i gets before event cmd (none
 * when no macro of its list has a value). */
void milter_macros_put(struct milter_chain *ch, unsigned i, char cmd,
    struct buf *out);
/* The macro lists of f's OPTNEG reply r; false when they are malformed. */
bool milter_macros_negotiated(struct milter_chain *ch,
    struct milter_filter *f, const struct milter_reply *r);
void milter_macros_free(struct milter_filter *f);

/* milter_message.c */
/* Serves the current filter from where it stands. */
void milter_message_step(struct milter_chain *ch);
/* A reply of the current filter during the message phase. */
void milter_message_reply(struct milter_chain *ch,
    const struct milter_reply *r);
/* Drops the current filter's work in flight (a read detaches, an
 * unfinished replacement is dropped). */
void milter_message_clear(struct milter_chain *ch);
/* The transaction is over: every per-transaction flag and spool. */
void milter_tx_clear(struct milter_chain *ch);
/* Moves on to the next filter of the operation. */
void milter_chain_next(struct milter_chain *ch);

#endif
