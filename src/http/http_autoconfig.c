/*
 * http_autoconfig - client autoconfiguration from the running config:
 * Thunderbird's config-v1.1.xml, Microsoft's POX autodiscover (POST) and
 * an Apple .mobileconfig profile. Each says which host, ports and TLS the
 * configured listeners offer, and that the login is the address.
 *
 * Trust: the request is untrusted: the address (?emailaddress=, the
 * autodiscover body's EMailAddress) or Host picks the domain, answered
 * only when local (404 else); whatever is echoed is XML-escaped. The
 * answer comes from the state bundle in memory (config, accounts).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "auth/resolve.h"
#include "conf/conf.h"
#include "http/http_int.h"
#include "server/state.h"
#include "util/hex.h"

#define ADDR_MAX	254	/* RFC 5321 4.5.3.1.3 path, less <> */

/* The ports clients are told: each service's first listener, or 0. */
struct offer {
	const char	*host;
	int		 imaps, imap, pop3s, pop3, submissions, submission;
};

static int
first_port(const struct conf_listen_list *l)
{
	return l->n > 0 ? l->l[0].port : 0;
}

static void
offer_of(const struct conf *c, struct offer *o)
{
	o->host = c->hostname;
	o->imaps = first_port(&c->imaps_listen);
	o->imap = first_port(&c->imap_listen);
	o->pop3s = first_port(&c->pop3s_listen);
	o->pop3 = first_port(&c->pop3_listen);
	o->submissions = first_port(&c->submissions_listen);
	o->submission = first_port(&c->submission_listen);
}

static void
xml_esc(struct buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '&': buf_puts(b, "&amp;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&apos;"); break;
		default: buf_putc(b, *s); break;
		}
}

/* An address we answer for, lower-cased into out: printable ASCII
 * without space, <>"&' or '\', one '@' with text both sides. */
static bool
addr_ok(const char *s, size_t n, char *out)
{
	size_t at = 0, nat = 0;

	if (n == 0 || n > ADDR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || strchr("<>\"&'\\", c))
			return false;
		if (c == '@') {
			at = i;
			nat++;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return nat == 1 && at > 0 && at + 1 < n;
}

/* ?emailaddress= (percent-decoded, '+' a space) into out; false when
 * absent or not an address. */
static bool
query_address(const char *q, char *out)
{
	char v[ADDR_MAX + 1];
	size_t n = 0;

	while (*q) {
		size_t len = strcspn(q, "&");
		if (strncasecmp(q, "emailaddress=", 13) == 0) {
			for (const char *p = q + 13; p < q + len; p++) {
				char c = *p;
				if (n == ADDR_MAX)
					return false;
				if (c == '%' && p + 2 < q + len &&
				    hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
					c = (char)(hex_value(p[1]) << 4 |
					    hex_value(p[2]));
					p += 2;
				} else if (c == '+')
					c = ' ';
				v[n++] = c;
			}
			return addr_ok(v, n, out);
		}
		q += len + (q[len] == '&');
	}
	return false;
}

/* The local domain the request is for: of the address, else of a Host
 * "autoconfig.DOMAIN"; NULL when there is none or it is not ours. */
static const char *
local_domain(const struct server_state *st, const char *addr,
    const char *host)
{
	const char *d = NULL;

	if (*addr)
		d = strchr(addr, '@') + 1;
	else if (strncmp(host, "autoconfig.", 11) == 0)
		d = host + 11;
	if (d == NULL || st->accounts == NULL ||
	    !acct_is_local_domain(st->accounts, d))
		return NULL;
	return d;
}

static void
tb_server(struct buf *b, const char *tag, const char *type,
    const struct offer *o, int port, const char *socket_type)
{
	buf_printf(b, "    <%s type=\"%s\">\n      <hostname>", tag, type);
	xml_esc(b, o->host);
	buf_printf(b, "</hostname>\n      <port>%d</port>\n"
	    "      <socketType>%s</socketType>\n"
	    "      <username>%%EMAILADDRESS%%</username>\n"
	    "      <authentication>password-cleartext</authentication>\n"
	    "    </%s>\n", port, socket_type, tag);
}

/* Thunderbird: clientConfig 1.1, as its accountConfig reader reads it
 * (tests/data/autoconfig.xsd). Implicit TLS first: it is preferred. */
static void
thunderbird(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	char addr[ADDR_MAX + 1] = "";
	struct server_state *st = server_state_get();
	const char *d;
	struct offer o;
	struct buf *b = &resp->body;

	(void)arg;
	if (*req->query && !query_address(req->query, addr))
		addr[0] = '\0';
	if ((d = local_domain(st, addr, req->host)) == NULL) {
		http_error_body(resp, 404);
		server_state_unref(&st);
		return;
	}
	offer_of(st->conf, &o);
	resp->content_type = "application/xml; charset=utf-8";
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<clientConfig version=\"1.1\">\n  <emailProvider id=\"");
	xml_esc(b, d);
	buf_puts(b, "\">\n    <domain>");
	xml_esc(b, d);
	buf_puts(b, "</domain>\n    <displayName>");
	xml_esc(b, d);
	buf_puts(b, "</displayName>\n    <displayShortName>");
	xml_esc(b, d);
	buf_puts(b, "</displayShortName>\n");
	if (o.imaps)
		tb_server(b, "incomingServer", "imap", &o, o.imaps, "SSL");
	if (o.imap)
		tb_server(b, "incomingServer", "imap", &o, o.imap, "STARTTLS");
	if (o.pop3s)
		tb_server(b, "incomingServer", "pop3", &o, o.pop3s, "SSL");
	if (o.pop3)
		tb_server(b, "incomingServer", "pop3", &o, o.pop3, "STARTTLS");
	if (o.submissions)
		tb_server(b, "outgoingServer", "smtp", &o, o.submissions,
		    "SSL");
	if (o.submission)
		tb_server(b, "outgoingServer", "smtp", &o, o.submission,
		    "STARTTLS");
	buf_puts(b, "  </emailProvider>\n</clientConfig>\n");
	server_state_unref(&st);
}

/* The text of the first <name>...</name> in body (no nesting, no
 * attributes on it; a namespace prefix is allowed), into out. */
static bool
xml_text(const char *body, size_t n, const char *name, char *out,
    size_t size)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl + 2 < n; i++) {
		if (body[i] != '<' || body[i + 1] == '/')
			continue;
		size_t j = i + 1, k;
		while (j < n && body[j] != '>' && body[j] != ':' &&
		    body[j] != ' ')
			j++;
		if (j < n && body[j] == ':')	/* a prefix: skip it */
			j++;
		else
			j = i + 1;
		if (j + nl >= n || strncmp(body + j, name, nl) != 0 ||
		    body[j + nl] != '>')
			continue;
		j += nl + 1;
		for (k = j; k < n && body[k] != '<'; k++)
			;
		if (k == n || k - j >= size)
			return false;
		memcpy(out, body + j, k - j);
		out[k - j] = '\0';
		return true;
	}
	return false;
}

static void
ad_protocol(struct buf *b, const char *type, const struct offer *o,
    int port, bool implicit, const char *addr)
{
	buf_printf(b, "      <Protocol>\n        <Type>%s</Type>\n"
	    "        <Server>", type);
	xml_esc(b, o->host);
	buf_printf(b, "</Server>\n        <Port>%d</Port>\n"
	    "        <LoginName>", port);
	xml_esc(b, addr);
	buf_printf(b, "</LoginName>\n        <DomainRequired>off"
	    "</DomainRequired>\n        <SPA>off</SPA>\n"
	    "        <SSL>on</SSL>\n%s        <AuthRequired>on</AuthRequired>\n"
	    "      </Protocol>\n", implicit ? "" :
	    "        <Encryption>TLS</Encryption>\n");
}

#define AD_NS "http://schemas.microsoft.com/exchange/autodiscover/"

/* Outlook's POX autodiscover (MS-OXDSCLI): the request names
 * EMailAddress and AcceptableResponseSchema; we answer the "outlook"
 * schema (IMAP, POP3, SMTP), and for "mobilesync" (ActiveSync, which
 * tem does not speak) the schema's error. */
static void
autodiscover(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	char raw[ADDR_MAX + 1], addr[ADDR_MAX + 1], schema[256] = "";
	struct server_state *st;
	const char *d;
	struct offer o;
	struct buf *b = &resp->body;

	(void)arg;
	if (!xml_text(req->body, req->body_len, "EMailAddress", raw,
	    sizeof(raw)) || !addr_ok(raw, strlen(raw), addr)) {
		http_error_body(resp, 400);
		return;
	}
	xml_text(req->body, req->body_len, "AcceptableResponseSchema",
	    schema, sizeof(schema));
	st = server_state_get();
	if ((d = local_domain(st, addr, "")) == NULL) {
		http_error_body(resp, 404);
		server_state_unref(&st);
		return;
	}
	offer_of(st->conf, &o);
	resp->content_type = "application/xml; charset=utf-8";
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<Autodiscover xmlns=\"" AD_NS "responseschema/2006\">\n");
	if (strstr(schema, "/mobilesync/") != NULL) {
		buf_puts(b, "  <Response xmlns=\"" AD_NS "mobilesync/"
		    "responseschema/2006\">\n    <Culture>en:us</Culture>\n"
		    "    <User><EMailAddress>");
		xml_esc(b, addr);
		buf_puts(b, "</EMailAddress></User>\n    <Action><Error>"
		    "<Status>2</Status><Message>ActiveSync is not offered"
		    "</Message></Error></Action>\n  </Response>\n"
		    "</Autodiscover>\n");
		server_state_unref(&st);
		return;
	}
	buf_puts(b, "  <Response xmlns=\"" AD_NS "outlook/responseschema/"
	    "2006a\">\n    <Account>\n      <AccountType>email</AccountType>\n"
	    "      <Action>settings</Action>\n");
	if (o.imaps || o.imap)
		ad_protocol(b, "IMAP", &o, o.imaps ? o.imaps : o.imap,
		    o.imaps != 0, addr);
	if (o.pop3s || o.pop3)
		ad_protocol(b, "POP3", &o, o.pop3s ? o.pop3s : o.pop3,
		    o.pop3s != 0, addr);
	if (o.submissions || o.submission)
		ad_protocol(b, "SMTP", &o, o.submissions ? o.submissions :
		    o.submission, o.submissions != 0, addr);
	buf_puts(b, "    </Account>\n  </Response>\n</Autodiscover>\n");
	server_state_unref(&st);
}

#define PL_KEY(b, k) buf_puts(b, "\t\t\t<key>" k "</key>\n")

static void
pl_string(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, "\t\t\t<key>%s</key>\n\t\t\t<string>", key);
	xml_esc(b, v);
	buf_puts(b, "</string>\n");
}

/* A UUID derived from the address and what: the same profile each time,
 * so installing it again replaces it. */
static void
pl_uuid(struct buf *b, const char *key, const char *addr, const char *what)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char s[ADDR_MAX + 32];

	snprintf(s, sizeof(s), "%s/%s", what, addr);
	SHA256((const unsigned char *)s, strlen(s), md);
	buf_printf(b, "\t\t\t<key>%s</key>\n\t\t\t<string>", key);
	for (int i = 0; i < 16; i++)
		buf_printf(b, "%s%02X", i == 4 || i == 6 || i == 8 ||
		    i == 10 ? "-" : "", md[i]);
	buf_puts(b, "</string>\n");
}

static void
pl_server(struct buf *b, const char *dir, const struct offer *o, int port,
    const char *addr)
{
	char key[64];

	snprintf(key, sizeof(key), "%sMailServerAuthentication", dir);
	pl_string(b, key, "EmailAuthPassword");
	snprintf(key, sizeof(key), "%sMailServerHostName", dir);
	pl_string(b, key, o->host);
	buf_printf(b, "\t\t\t<key>%sMailServerPortNumber</key>\n"
	    "\t\t\t<integer>%d</integer>\n", dir, port);
	/* UseSSL: TLS from the first octet or by STARTTLS, either way */
	buf_printf(b, "\t\t\t<key>%sMailServerUseSSL</key>\n\t\t\t<true/>\n",
	    dir);
	snprintf(key, sizeof(key), "%sMailServerUsername", dir);
	pl_string(b, key, addr);
}

/* Apple: an unsigned configuration profile with one
 * com.apple.mail.managed payload (IMAP preferred, else POP). */
static void
mobileconfig(const struct http_request *req, struct http_response *resp,
    void *arg)
{
	char addr[ADDR_MAX + 1];
	struct server_state *st = server_state_get();
	struct offer o;
	struct buf *b = &resp->body;
	int in, out;

	(void)arg;
	if (!query_address(req->query, addr) ||
	    local_domain(st, addr, "") == NULL) {
		http_error_body(resp, 404);
		server_state_unref(&st);
		return;
	}
	offer_of(st->conf, &o);
	in = o.imaps ? o.imaps : o.imap ? o.imap : o.pop3s ? o.pop3s : o.pop3;
	out = o.submissions ? o.submissions : o.submission;
	resp->content_type = "application/x-apple-aspen-config";
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	    "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	    "<plist version=\"1.0\">\n<dict>\n"
	    "\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n");
	pl_string(b, "EmailAccountDescription", addr);
	pl_string(b, "EmailAccountType", o.imaps || o.imap ? "EmailTypeIMAP" :
	    "EmailTypePOP");
	pl_string(b, "EmailAddress", addr);
	pl_server(b, "Incoming", &o, in, addr);
	pl_server(b, "Outgoing", &o, out, addr);
	PL_KEY(b, "OutgoingPasswordSameAsIncomingPassword");
	buf_puts(b, "\t\t\t<true/>\n");
	pl_string(b, "PayloadDisplayName", addr);
	pl_string(b, "PayloadIdentifier", "tem.mail.account");
	pl_string(b, "PayloadType", "com.apple.mail.managed");
	pl_uuid(b, "PayloadUUID", addr, "mail");
	PL_KEY(b, "PayloadVersion");
	buf_puts(b, "\t\t\t<integer>1</integer>\n\t\t</dict>\n\t</array>\n");
	buf_puts(b, "\t<key>PayloadDisplayName</key>\n\t<string>");
	xml_esc(b, addr);
	buf_puts(b, "</string>\n\t<key>PayloadIdentifier</key>\n"
	    "\t<string>tem.mail</string>\n\t<key>PayloadType</key>\n"
	    "\t<string>Configuration</string>\n");
	pl_uuid(b, "PayloadUUID", addr, "profile");
	buf_puts(b, "\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n"
	    "</dict>\n</plist>\n");
	buf_printf(&resp->headers, "Content-Disposition: attachment; "
	    "filename=\"mail.mobileconfig\"\r\n");
	server_state_unref(&st);
}

void
http_autoconfig_routes(void)
{
	http_route("/mail/config-v1.1.xml", HTTP_GET, thunderbird, NULL);
	http_route("/.well-known/autoconfig/mail/config-v1.1.xml", HTTP_GET,
	    thunderbird, NULL);
	http_route("/autodiscover/autodiscover.xml", HTTP_POST, autodiscover,
	    NULL);
	/* Outlook also asks with this capitalisation */
	http_route("/Autodiscover/Autodiscover.xml", HTTP_POST, autodiscover,
	    NULL);
	http_route("/apple/mobileconfig", HTTP_GET, mobileconfig, NULL);
}
