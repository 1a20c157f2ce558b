/*
 * test-smtp-parser.h - what the SMTP parser's unit tests share: the
 * replies they expect. Included by src/smtp/test-smtp-*.c only.
 *
 * Trust: test code.
 */
#ifndef TEM_TEST_SMTP_PARSER_H
#define TEM_TEST_SMTP_PARSER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parser.h"
#include "util/buf.h"
#include "util/test.h"

#define R_NUL		"500 5.5.2 Syntax error, NUL byte in command"
#define R_UNKNOWN	"500 5.5.2 Syntax error, command unrecognized"
#define R_MAIL_SYN	"501 5.5.4 Syntax: MAIL FROM:<address>"
#define R_RCPT_SYN	"501 5.5.4 Syntax: RCPT TO:<address>"
#define R_MAIL_ADDR	"501 5.1.7 Bad sender address syntax"
#define R_RCPT_ADDR	"501 5.1.3 Bad recipient address syntax"
#define R_MAIL_LONG	"501 5.1.7 Address too long"
#define R_RCPT_LONG	"501 5.1.3 Address too long"
#define R_UTF8		"553 5.6.7 Non-ASCII address requires SMTPUTF8"
#define R_PUNK		"555 5.5.4 Unsupported parameter"
#define R_PVAL		"501 5.5.4 Bad parameter value"
#define R_PDUP		"501 5.5.4 Duplicate parameter"
#define R_HELO		"501 5.5.4 Syntax: EHLO hostname"
#define R_BDAT		"501 5.5.4 Syntax: BDAT size [LAST]"

#endif
