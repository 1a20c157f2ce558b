/* TEMPORARY until pgmbox lands. */
#include "conf/conf.h"
#include "store/pgmbox_stub.h"
static bool on_pg;
void mbox_setup(const struct conf *c) { on_pg = c != NULL && c->storage == CONF_STORAGE_POSTGRESQL; }
bool mbox_on_pg(void) { return on_pg; }
const char *mbox_user_address(const struct mbox_user *u) { (void)u; return ""; }
int64_t mbox_user_pg_id(const struct mbox_user *u) { (void)u; return 0; }
