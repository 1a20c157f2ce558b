/*
 * imap_quota - QUOTA (RFC 9208) for the IMAP handlers: the commands and
 * the [OVERQUOTA] check (cmd-quota.c). Internal to src/imap/.
 */
#ifndef TEM_IMAP_QUOTA_H
#define TEM_IMAP_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "imap/imap_client.h"

/* The capabilities QUOTA adds (after authentication), with a leading
 * space. */
#define IMAP_QUOTA_CAPS	" QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE"

/* Worker thread. True when the user may store messages more messages of
 * bytes octets in all; false after a NO [OVERQUOTA] (logged). */
bool imap_quota_allows(struct imap_cmd *cmd, uint64_t bytes,
    uint64_t messages);

imap_cmd_fn cmd_getquota, cmd_getquotaroot, cmd_setquota;

#endif
