/*
 * unit.h: a minimal TAP harness for the C unit tests (tests/unit/test_*.c).
 * Each CHECK is one assertion, printed "ok N - what" or "not ok N - what"
 * with the failing expression; done() prints the plan and sets the status.
 */
#ifndef ARCHONFS_UNIT_H
#define ARCHONFS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed;

#define CHECK(cond, what) do {						\
	unit_n++;							\
	if (cond) {							\
		printf("ok %d - %s\n", unit_n, what);			\
	} else {							\
		unit_failed++;						\
		printf("not ok %d - %s\n#   %s:%d: %s\n", unit_n, what,	\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

#define CHECK_STR(got, want, what) do {					\
	const char *g_ = (got), *w_ = (want);				\
	unit_n++;							\
	if (g_ && w_ && strcmp(g_, w_) == 0) {				\
		printf("ok %d - %s\n", unit_n, what);			\
	} else {							\
		unit_failed++;						\
		printf("not ok %d - %s\n#   want: %s\n#   got:  %s\n",	\
		    unit_n, what, w_ ? w_ : "(null)", g_ ? g_ : "(null)");	\
	}								\
} while (0)

static inline int
done(void)
{
	printf("1..%d\n", unit_n);
	return unit_failed ? 1 : 0;
}

#endif
