/*
 * test_creds.c: the credentials file parser.
 */
#include <stdlib.h>

#include "../../fs/creds.h"
#include "unit.h"

int
main(void)
{
	static const char text[] =
		"# archonfs credentials\n"
		"marathon.user=alice\n"
		"  marathon.password =  s3cret pw  \r\n"
		"zk.user\t= ops\n"
		"zk.password=pw1\n"
		"unknown.key = ignored\n"
		"kafka.sasl.password = k pw\n"
		"kafka.ssl.ca.location=/etc/ca.pem\n"
		"kafka. = no name, ignored\n"
		"no equals sign here\n";
	struct creds c;
	char *s;
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	creds_parse(f, &c);
	fclose(f);
	CHECK_STR(c.marathon_user, "alice", "a plain value");
	CHECK_STR(c.marathon_password, "s3cret pw", "blanks around, not inside, are dropped");
	CHECK_STR(c.zk_user, "ops", "a tab before = is not part of the key");
	CHECK_STR(c.zk_password, "pw1", "the last character of a value stays");
	CHECK(c.nkafka == 2, "kafka.NAME lines are librdkafka properties");
	CHECK_STR(c.kafka[0], "sasl.password=k pw", "as NAME=VALUE, blanks trimmed");
	CHECK_STR(c.kafka[1], "ssl.ca.location=/etc/ca.pem", "in file order");
	s = creds_join(c.zk_user, c.zk_password);
	CHECK_STR(s, "ops:pw1", "joined as user:password");
	free(s);
	CHECK(creds_join("", "x") == NULL, "no user, no credentials");
	creds_wipe(&c);
	CHECK(c.zk_password[0] == '\0' && c.kafka[0][0] == '\0', "wiped");
	return done();
}
