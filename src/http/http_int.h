/*
 * http_int - what the files of src/http share beyond http.h.
 */
#ifndef TEM_HTTP_INT_H
#define TEM_HTTP_INT_H

#include "http/http.h"

/* Replaces resp's body by a short text for status (an error). */
void http_error_body(struct http_response *resp, int status);

/* Registers the client autoconfiguration routes (http_autoconfig.c). */
void http_autoconfig_routes(void);
/* Registers /.well-known/mta-sts.txt (http_mta_sts.c). */
void http_mta_sts_routes(void);

#endif
