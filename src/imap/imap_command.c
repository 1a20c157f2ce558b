/*
 * imap_command - the command being parsed: its strings in one buffer,
 * its arguments in completion order, and the tree built from them when
 * the caller asks (build_args); the imap_arg accessors (imap_parser.h).
 *
 * Trust: untrusted network input, before and after authentication. No I/O,
 * no globals, no logging.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_parser_int.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xmalloc.h"

/* ------------------------------------------------------------------ */
/* Command storage                                                      */

void
ip_reset_command(struct imap_parser *p)
{
	p->need_reset = false;
	p->wait_pending = false;
	if (p->data.cap > KEEP_DATA_MAX)
		buf_free(&p->data);
	else
		buf_reset(&p->data);
	if (p->pargs_cap > KEEP_ARGS_MAX) {
		XFREE(&p->pargs);
		p->pargs_cap = 0;
	}
	XFREE(&p->out);
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->pargs_n = p->top_count = p->cur_list = p->depth = 0;
	p->tag_done = p->name_done = p->uid = false;
	p->name_off = p->cmd_len = p->tok_off = 0;
	p->kind = K_OTHER;
	p->stream_count = 0;
}

void
ip_put(struct imap_parser *p, const void *s, size_t n)
{
	/* data has no max: its size is bounded through cmd_len */
	if (buf_append(&p->data, s, n) < 0)
		log_panic("imap_parser: unbounded buffer refused data");
}

void
ip_putc1(struct imap_parser *p, char c)
{
	ip_put(p, &c, 1);
}

void
ip_token_begin(struct imap_parser *p)
{
	p->tok_off = p->data.len;
}

const char *
ip_token_str(const struct imap_parser *p)
{
	return p->data.data + p->tok_off;
}

size_t
ip_token_len(const struct imap_parser *p)
{
	return p->data.len - p->tok_off;
}

/* Appends an argument of the given type to the open list. Returns its
   index, or -1 when args_max would be exceeded. */
int
ip_arg_new(struct imap_parser *p, enum imap_arg_type type)
{
	struct parg *a;

	if (p->pargs_n >= p->lim.args_max)
		return -1;
	if (p->pargs_n == p->pargs_cap) {
		p->pargs_cap = p->pargs_cap ? p->pargs_cap * 2 : 8;
		p->pargs = xrealloc(p->pargs,
		    p->pargs_cap * sizeof(*p->pargs));
	}
	a = &p->pargs[p->pargs_n];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->parent = p->cur_list;
	if (p->cur_list == 0)
		p->top_count++;
	else
		p->pargs[p->cur_list - 1].nchild++;
	return (int)p->pargs_n++;
}

/* Turns the current token into a string argument (NUL-terminated). */
int
ip_arg_from_token(struct imap_parser *p, enum imap_arg_type type)
{
	int i = ip_arg_new(p, type);

	if (i < 0)
		return -1;
	p->pargs[i].off = p->tok_off;
	p->pargs[i].len = ip_token_len(p);
	ip_putc1(p, '\0');
	return i;
}

/*
 * Lays the arguments out as struct imap_arg, each list's elements
 * contiguous. pargs is in completion order, in which a list is created when
 * its "(" is read, so before every one of its elements: one pass can give
 * each list its block (after all blocks handed out so far) when it is met,
 * and place each element in its parent's block in order.
 */
void
ip_build_args(struct imap_parser *p)
{
	unsigned next = p->top_count, top_fill = 0, i, pos;
	struct parg *a, *pa;
	struct imap_arg *o;

	XFREE(&p->out);
	if (p->pargs_n > 0)
		p->out = xcalloc(p->pargs_n, sizeof(*p->out));
	for (i = 0; i < p->pargs_n; i++) {
		a = &p->pargs[i];
		if (a->parent == 0)
			pos = top_fill++;
		else {
			pa = &p->pargs[a->parent - 1];
			pos = pa->start + pa->fill++;
		}
		TEM_ASSERT(pos < p->pargs_n);
		o = &p->out[pos];
		o->type = a->type;
		o->literal8 = a->literal8;
		if (a->type == IMAP_ARG_LIST) {
			a->start = next;
			a->fill = 0;
			next += a->nchild;
			o->list = p->out + a->start;
			o->list_count = a->nchild;
		} else if (a->type == IMAP_ARG_STREAM) {
			o->size = a->size;
			o->index = a->index;
		} else {
			o->str = p->data.data + a->off;
			o->len = a->len;
		}
	}
	/* every list got exactly its children, the top level its count */
	TEM_ASSERT(top_fill == p->top_count && next == p->pargs_n);
	p->cmd.tag = p->data.data;
	p->cmd.name = p->data.data + p->name_off;
	p->cmd.uid = p->uid;
	p->cmd.args = p->out;
	p->cmd.count = p->top_count;
}

/* ------------------------------------------------------------------ */
/* Argument accessors                                                   */

bool
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*str_r = arg->str;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_NIL:
	case IMAP_ARG_STRING:
	case IMAP_ARG_LITERAL:
		*str_r = arg->str;
		if (len_r != NULL)
			*len_r = arg->len;
		return true;
	default:
		return false;
	}
}

bool
imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return false;
	*str_r = arg->str;
	if (len_r != NULL)
		*len_r = arg->len;
	return true;
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
    size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		if (len_r != NULL)
			*len_r = 0;
		return true;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

bool
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
    unsigned *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	*count_r = arg->list_count;
	return true;
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, word) == 0;
}
