/*
 * http_autoconfig - client autoconfiguration (to come).
 */
#include "http/http_int.h"

void
http_autoconfig_routes(void)
{
}
