/*
 * creds.h: the credentials file (-o credentials=FILE): "key = value"
 * lines, # comments; blanks around keys and values are not part of them.
 * Pure parsing, so it can be tested; main.c checks the file's owner and
 * mode before handing it here.  "kafka.NAME = VALUE" lines are librdkafka
 * properties (SASL passwords, key passwords), as -o kafka.NAME=VALUE but
 * kept off the command line, where ps would show them.
 */
#ifndef ARCHONFS_CREDS_H
#define ARCHONFS_CREDS_H

#include <stdio.h>

#define CREDS_KAFKA_MAX	16

struct creds {
	char	marathon_user[256];
	char	marathon_password[256];
	char	zk_user[256];
	char	zk_password[256];
	char	kafka[CREDS_KAFKA_MAX][1024];	/* "NAME=VALUE" */
	int	nkafka;
};

/* Read every line of f; unknown keys are ignored.  Returns 0. */
int	creds_parse(FILE *f, struct creds *out);
/* "user:password" of a pair, or NULL when there is no user (malloc'd). */
char	*creds_join(const char *user, const char *password);
void	creds_wipe(struct creds *c);

#endif
