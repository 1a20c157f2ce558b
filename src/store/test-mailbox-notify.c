/*
 * test-mailbox-notify - the store's user watches (mailbox_notify.c): the
 * events each folder and subscription operation queues, one MESSAGES
 * event per folder until taken, a delivery to an INBOX nobody has open,
 * the wake-up on the watcher's loop, and the overflow past
 * MBOX_EVENTS_MAX.
 *
 * Trust: test code, run under ASan/UBSan by `make unit`.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "store/maildir.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/test.h"
#include "util/xmalloc.h"

static char root[] = "/tmp/tem-test-notify.XXXXXX";
static atomic_int woken;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
on_wake(void *arg)
{
	(void)arg;
	atomic_fetch_add(&woken, 1);
}

static void *
run_loop(void *l)
{
	loop_run(l);
	return NULL;
}

/* Whether the events taken are exactly kinds/names (n of them). */
static bool
took(struct mbox_user_watch *w, size_t n, const enum mbox_event_kind *k,
    const char *const *names)
{
	struct mbox_event *ev;
	size_t got, i;
	bool overflow, ok;

	ev = mbox_user_watch_take(w, &got, &overflow);
	ok = got == n && !overflow;
	for (i = 0; ok && i < n; i++)
		ok = ev[i].kind == k[i] && strcmp(ev[i].name, names[i]) == 0;
	if (!ok)
		for (i = 0; i < got; i++)
			fprintf(stderr, "  event %d %s\n", ev[i].kind,
			    ev[i].name);
	mbox_events_free(ev, got);
	return ok;
}

static void
test_events(void)
{
	struct mbox_user *u = NULL;
	struct mbox_user_watch *w;
	struct loop *l = loop_new();
	uint32_t uv, uid;
	char *err = NULL, *box = xasprintf("%s/box", root);
	pthread_t th;

	TEST_ASSERT(maildir_make(box) == 0);
	TEST_ASSERT(mbox_user_open(box, &u, &err) == 0);
	pthread_create(&th, NULL, run_loop, l);
	w = mbox_user_watch_new(u, l, on_wake, NULL);
	TEST_ASSERT(!mbox_user_watch_pending(w));

	TEST_ASSERT(mbox_create(u, "Work", 0, &err) == 0);
	TEST_ASSERT(mbox_append(u, "Work", "Subject: x\r\n\r\nx\r\n", 16, 0,
	    NULL, 0, &uv, &uid, &err) == 0);
	TEST_ASSERT(mbox_append(u, "Work", "Subject: y\r\n\r\ny\r\n", 16, 0,
	    NULL, 0, &uv, &uid, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Work", true, &err) == 0);
	TEST_ASSERT(mbox_rename(u, "Work", "Job", &err) == 0);
	/* subscriptions stay with the old name (RFC 9051 6.3.6) */
	TEST_ASSERT(mbox_subscribe(u, "Job", false, &err) == 0);
	TEST_ASSERT(mbox_subscribe(u, "Work", false, &err) == 0);
	TEST_ASSERT(mbox_delete(u, "Job", &err) == 0);
	for (int i = 0; i < 100 && atomic_load(&woken) == 0; i++)
		usleep(10000);
	TEST_ASSERT(atomic_load(&woken) > 0);	/* once or more */
	TEST_ASSERT(mbox_user_watch_pending(w));
	{
		static const enum mbox_event_kind k[] = {
			MBOX_EV_CREATE, MBOX_EV_MESSAGES, MBOX_EV_SUBSCRIBE,
			MBOX_EV_RENAME, MBOX_EV_UNSUBSCRIBE, MBOX_EV_DELETE,
		};
		static const char *const names[] = {
			"Work", "Work", "Work", "Job", "Work", "Job",
		};
		TEST_ASSERT(took(w, 6, k, names));	/* two appends: one */
	}
	/* a delivery to an INBOX nobody has open is still heard */
	mbox_notify_delivery(box);
	{
		static const enum mbox_event_kind k[] = { MBOX_EV_MESSAGES };
		static const char *const names[] = { "INBOX" };
		TEST_ASSERT(took(w, 1, k, names));
	}
	/* past MBOX_EVENTS_MAX: dropped, and said */
	for (int i = 0; i <= MBOX_EVENTS_MAX; i++)
		mbox_user_event(u, MBOX_EV_CREATE, "x", NULL);
	{
		struct mbox_event *ev;
		size_t n;
		bool overflow;

		ev = mbox_user_watch_take(w, &n, &overflow);
		TEST_ASSERT(n == MBOX_EVENTS_MAX && overflow);
		mbox_events_free(ev, n);
	}
	mbox_user_watch_free(&w);
	TEST_ASSERT(w == NULL);
	mbox_user_event(u, MBOX_EV_CREATE, "nobody hears", NULL);
	loop_break(l);
	pthread_join(th, NULL);
	loop_free(&l);
	mbox_user_unref(&u);
	free(box);
}

int
main(void)
{
	log_init(LOG_WARN);
	loop_global_init();
	if (mkdtemp(root) == NULL)
		log_fatal("mkdtemp: %s", strerror(errno));
	TEST_RUN(test_events);
	mbox_shutdown();
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return test_done("test-mailbox-notify");
}
