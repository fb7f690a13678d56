/*
 * test_kafka.c: the pure parts of the Kafka backend: how a message becomes
 * one line of topics/<t>/messages (nothing a producer sends can break a
 * line, and what is printable stays readable), Kafka's topic name rule,
 * which librdkafka properties count as secret, and the errno table.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>

#include "../../backends/kafka.h"
#include "unit.h"

static const char *
line(int32_t p, int64_t off, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	static struct buf b = BUF_INIT(0);

	buf_reset(&b);
	kafka_format_message(&b, p, off, key, klen, val, vlen);
	return buf_str(&b);
}

int
main(void)
{
	struct buf msg = BUF_INIT(0);
	char longname[300];

	/* Lines. */
	CHECK_STR(line(0, 42, "k1", 2, "hello", 5), "0/42 k1 hello\n",
	    "partition/offset, key, value");
	CHECK_STR(line(3, 0, NULL, 0, "v", 1), "3/0 - v\n", "no key is -");
	CHECK_STR(line(1, 7, "-", 1, "v", 1), "1/7 \\x2d v\n",
	    "a key that is - itself is escaped, so it differs from no key");
	CHECK_STR(line(1, 8, "", 0, "v", 1), "1/8 \"\" v\n", "an empty key is \"\"");
	CHECK_STR(line(0, 1, "a b", 3, "c d", 3), "0/1 a\\x20b c d\n",
	    "a space splits no key; spaces in values stay");
	CHECK_STR(line(0, 2, "k", 1, "a\nb\tc\\d\re", 9),
	    "0/2 k a\\nb\\tc\\\\d\\re\n", "newline, tab, backslash, CR escaped");
	CHECK_STR(line(0, 3, "k", 1, "\x01\x7f\xff", 3), "0/3 k \\x01\\x7f\\xff\n",
	    "control bytes, DEL and invalid UTF-8 as \\xHH");
	CHECK_STR(line(0, 4, "k", 1, "caf\xc3\xa9 \xe2\x82\xac", 9),
	    "0/4 k caf\xc3\xa9 \xe2\x82\xac\n", "valid UTF-8 stays readable");
	CHECK_STR(line(0, 5, "k", 1, "\xc3", 1), "0/5 k \\xc3\n",
	    "a truncated UTF-8 sequence is escaped");
	CHECK_STR(line(0, 6, "k", 1, "\xed\xa0\x80", 3), "0/6 k \\xed\\xa0\\x80\n",
	    "a UTF-16 surrogate is not valid UTF-8");
	CHECK_STR(line(0, 7, "k", 1, "\xc0\xaf", 2), "0/7 k \\xc0\\xaf\n",
	    "an overlong encoding is escaped");
	CHECK_STR(line(0, 8, "k", 1, "a\0b", 3), "0/8 k a\\x00b\n", "NUL escaped");
	CHECK_STR(line(0, 9, "k", 1, NULL, 0), "0/9 k \n",
	    "a null value (a tombstone) is an empty value");

	/* Topic names. */
	CHECK(kafka_check_topic("orders", &msg) == 0, "a plain name");
	CHECK(kafka_check_topic("a.b_c-D9", &msg) == 0, "letters, digits, . _ -");
	CHECK(kafka_check_topic("bad name", &msg) == -EINVAL, "a space");
	CHECK(kafka_check_topic("x@y", &msg) == -EINVAL, "an @");
	CHECK(kafka_check_topic("caf\xc3\xa9", &msg) == -EINVAL, "non-ASCII");
	CHECK(kafka_check_topic("", &msg) == -EINVAL, "empty");
	CHECK(kafka_check_topic(".", &msg) == -EINVAL &&
	    kafka_check_topic("..", &msg) == -EINVAL, ". and ..");
	memset(longname, 'a', 249);
	longname[249] = '\0';
	CHECK(kafka_check_topic(longname, &msg) == 0, "249 characters");
	longname[249] = 'a';
	longname[250] = '\0';
	CHECK(kafka_check_topic(longname, &msg) == -EINVAL, "250 characters");
	CHECK(msg.len > 0 && strstr(buf_str(&msg), "249") != NULL,
	    "the refusal says the rule");

	/* Secret properties. */
	CHECK(kafka_secret_property("sasl.password"), "sasl.password");
	CHECK(kafka_secret_property("ssl.key.password"), "ssl.key.password");
	CHECK(kafka_secret_property("sasl.oauthbearer.client.secret"), "client.secret");
	CHECK(kafka_secret_property("ssl.key.pem"), "ssl.key.pem");
	CHECK(kafka_secret_property("sasl.oauthbearer.token.endpoint.url"),
	    "token: when in doubt, masked");
	CHECK(!kafka_secret_property("sasl.username"), "a user name is not secret");
	CHECK(!kafka_secret_property("client.rack"), "client.rack");
	CHECK(!kafka_secret_property("security.protocol"), "security.protocol");

	/* Errors. */
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) == EEXIST, "exists");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_INVALID_PARTITIONS) == EINVAL,
	    "invalid partitions");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_INVALID_CONFIG) == EINVAL, "invalid config");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_POLICY_VIOLATION) == EINVAL, "policy");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) == EACCES,
	    "authorization");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR__TIMED_OUT) == ETIMEDOUT, "timed out");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) == ENOENT,
	    "unknown topic");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR__TRANSPORT) == EIO, "transport: EIO");
	CHECK(kafka_errno(RD_KAFKA_RESP_ERR_NOT_CONTROLLER) != ENOTCONN,
	    "never ENOTCONN");
	buf_free(&msg);
	return done();
}
