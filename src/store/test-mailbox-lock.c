/*
 * test-mailbox-lock - the store's lock order is checked (mailbox_lock.c):
 * locks taken in order pass, one taken after a lock of its own or a later
 * level aborts (in a child process, so the test sees the abort).
 *
 * Trust: test code.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/mailbox_int.h"
#include "util/test.h"

static pthread_mutex_t io = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reg = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t umu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fmu2 = PTHREAD_MUTEX_INITIALIZER;

/* Runs fn in a child; true when the child aborted. */
static bool
aborts(void (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		/* the child's panic line is expected: keep stderr quiet */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(2);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void
in_order(void)
{
	mbox_lock(&io, MBOX_LK_IO);
	mbox_lock(&reg, MBOX_LK_REG);
	mbox_lock(&umu, MBOX_LK_USER);
	mbox_lock(&fmu, MBOX_LK_FOLDER);
	mbox_unlock(&fmu, MBOX_LK_FOLDER);
	mbox_unlock(&umu, MBOX_LK_USER);
	mbox_unlock(&reg, MBOX_LK_REG);
	mbox_unlock(&io, MBOX_LK_IO);
}

static void
io_after_folder(void)
{
	mbox_lock(&fmu, MBOX_LK_FOLDER);
	mbox_lock(&io, MBOX_LK_IO);
}

static void
two_folders(void)
{
	mbox_lock(&fmu, MBOX_LK_FOLDER);
	mbox_lock(&fmu2, MBOX_LK_FOLDER);
}

static void
user_after_reg_released(void)
{
	mbox_lock(&umu, MBOX_LK_USER);
	mbox_unlock(&umu, MBOX_LK_USER);
	mbox_lock(&reg, MBOX_LK_REG);	/* fine: u->mu is released */
	mbox_unlock(&reg, MBOX_LK_REG);
}

static void
unlock_not_held(void)
{
	mbox_unlock(&fmu, MBOX_LK_FOLDER);
}

static void
test_order(void)
{
	TEST_ASSERT(!aborts(in_order));
	TEST_ASSERT(!aborts(user_after_reg_released));
	TEST_ASSERT(aborts(io_after_folder));
	TEST_ASSERT(aborts(two_folders));
	TEST_ASSERT(aborts(unlock_not_held));
}

static void
test_held(void)
{
	TEST_ASSERT(!mbox_lock_held(MBOX_LK_IO));
	mbox_lock(&io, MBOX_LK_IO);
	TEST_ASSERT(mbox_lock_held(MBOX_LK_IO));
	TEST_ASSERT(!mbox_lock_held(MBOX_LK_FOLDER));
	mbox_unlock(&io, MBOX_LK_IO);
	TEST_ASSERT(!mbox_lock_held(MBOX_LK_IO));
}

int
main(void)
{
	TEST_RUN(test_order);
	TEST_RUN(test_held);
	return test_done("test-mailbox-lock");
}
