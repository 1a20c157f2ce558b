/*
 * buf - a length-carrying, binary-safe, growable byte buffer.
 *
 * The one string type of tem (STYLE.md habit 6). The data is always
 * NUL-terminated one past len, so buf_cstr() is safe for text, but len is
 * the truth. An optional hard maximum makes appends fail loudly (return -1,
 * buffer unchanged) instead of growing without bound: use it for anything
 * filled from the network.
 */
#ifndef TEM_BUF_H
#define TEM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* 0: unbounded */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);		/* releases memory, keeps max */
void buf_reset(struct buf *b);		/* len = 0, keeps memory */
/* Each returns 0, or -1 when the result would exceed max (b unchanged). */
/* Room for extra more bytes (and the NUL) without another allocation;
 * -1 past max. For a size known ahead (no doubling's peak). */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hands the data to the caller (NUL-terminated); b becomes empty. */
char *buf_steal(struct buf *b, size_t *len_r);
static inline const char *buf_cstr(const struct buf *b)
{ return b->data ? b->data : ""; }

#endif
