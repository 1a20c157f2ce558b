/*
 * mail_preview - the PREVIEW of a message (RFC 8970): a short plain-text
 * excerpt of its first text part, for FETCH PREVIEW.
 *
 * Trust: the message is from anyone. Only a bounded prefix of the part
 * (MAIL_PREVIEW_INPUT_MAX octets as stored) is decoded, so a huge part
 * costs no more than a small one; the output is valid UTF-8 of at most
 * MAIL_PREVIEW_CHARS characters.
 */
#ifndef TEM_MAIL_PREVIEW_H
#define TEM_MAIL_PREVIEW_H

#include "mail/mime.h"
#include "util/buf.h"

#define MAIL_PREVIEW_CHARS	256		/* RFC 8970 3: at most 256 */
#define MAIL_PREVIEW_INPUT_MAX	(32 * 1024)	/* encoded octets read */

/*
 * Appends the preview of m to out: the first text/plain or text/html
 * leaf that is not an attachment (outside attached messages), its
 * transfer encoding undone (quoted-printable, base64), converted from its
 * charset to UTF-8, HTML tags, comments, <style> and <script> contents
 * dropped and the common entities decoded, white space runs made one
 * space and trimmed, then cut to MAIL_PREVIEW_CHARS characters. Nothing
 * is appended when the message has no such part or it holds no text.
 */
void mail_preview(const struct mime_msg *m, struct buf *out);

#endif
