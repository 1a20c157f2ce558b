/* TEMPORARY until pgmbox lands: its contract, for compiling. */
#ifndef TEM_PGMBOX_STUB_H
#define TEM_PGMBOX_STUB_H
#include <stdbool.h>
#include <stdint.h>
struct conf;
struct mbox_user;
void mbox_setup(const struct conf *);
bool mbox_on_pg(void);
const char *mbox_user_address(const struct mbox_user *u);
int64_t mbox_user_pg_id(const struct mbox_user *u);
#endif
