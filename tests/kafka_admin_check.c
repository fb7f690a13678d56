/*
 * tests/kafka_admin_check.c: librdkafka's own admin API against a Kafka
 * cluster (tests/kafka_broker.py), printing what came back, one fact a line,
 * so a shell test can assert it.  Built by tests/t0300-kafka-broker.sh:
 *   cc -o kafka_admin_check kafka_admin_check.c $(pkg-config --cflags --libs rdkafka)
 *
 * Usage: kafka_admin_check [-t TIMEOUT_MS] BOOTSTRAP COMMAND [ARGS...]
 *   create [-n] NAME:PARTITIONS:RF[:KEY=VALUE[,KEY=VALUE...]]...
 *                                   one CreateTopics for all (-n: validate only)
 *       -> topic NAME ERR_NAME[ message]
 *   create-assign [-n] NAME BROKER,BROKER/BROKER,BROKER...
 *                                   replica assignment, partitions split by '/'
 *   partitions [-n] NAME:COUNT...   CreatePartitions -> topic NAME ERR[ message]
 *   delete NAME...                  DeleteTopics     -> topic NAME ERR[ message]
 *   describe-configs topic|broker NAME
 *       -> resource TYPE NAME ERR[ message]
 *          config NAME=VALUE source=SOURCE default=0|1 read_only=0|1
 *                 sensitive=0|1 synonyms=NAME=VALUE(SOURCE);...
 *   alter-configs [-n] topic|broker NAME [KEY=VALUE...]
 *       -> resource TYPE NAME ERR[ message]
 *   list-groups       -> group ID state=STATE simple=0|1 / error ERR message
 *   describe-groups GROUP...
 *       -> group ID ERR state=STATE assignor=NAME coordinator=ID simple=0|1
 *                   members=N
 *          member ID client_id=ID host=HOST assignment=TOPIC[P],...
 *   group-offsets GROUP [TOPIC:PARTITION...]   ListConsumerGroupOffsets
 *       -> group ID ERR  /  offset TOPIC PARTITION OFFSET ERR
 *   delete-groups GROUP...          -> group ID ERR
 *   metadata [TOPIC]
 *       -> broker ID HOST:PORT
 *          topic NAME partitions=N ERR
 *          partition TOPIC P leader=ID replicas=A,B isr=A,B ERR
 *   watermarks TOPIC PARTITION      -> low L high H
 * ERR is librdkafka's rd_kafka_err2name() (NO_ERROR when none).  Exit status
 * 0 when the request got an answer (whatever its per-item errors), 1 when
 * it did not (the reason on a line "error ERR message"), 2 for bad usage.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int timeout_ms = 10000;
static rd_kafka_t *rk;
static rd_kafka_queue_t *q;

static void usage(void)
{
	fprintf(stderr, "usage: kafka_admin_check [-t MS] BOOTSTRAP COMMAND [ARGS...] "
		"(see the head of tests/kafka_admin_check.c)\n");
	exit(2);
}

static void die_err(rd_kafka_resp_err_t err, const char *msg)
{
	printf("error %s %s\n", rd_kafka_err2name(err), msg ? msg : "");
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p) {
		perror("strdup");
		exit(1);
	}
	return p;
}

static rd_kafka_AdminOptions_t *options(rd_kafka_admin_op_t op, int validate)
{
	char errstr[512];
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
	if (rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, errstr, sizeof errstr))
		die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
	if (validate && rd_kafka_AdminOptions_set_validate_only(o, 1, errstr, sizeof errstr))
		die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
	return o;
}

/* wait_result TYPE: the result event of the admin call (exits on error). */
static rd_kafka_event_t *wait_result(int type)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
	if (!ev)
		die_err(RD_KAFKA_RESP_ERR__TIMED_OUT, "no result event");
	if (rd_kafka_event_type(ev) != type) {
		printf("error unexpected event %s\n", rd_kafka_event_name(ev));
		exit(1);
	}
	if (rd_kafka_event_error(ev))
		die_err(rd_kafka_event_error(ev), rd_kafka_event_error_string(ev));
	return ev;
}

static void print_topic_results(const rd_kafka_topic_result_t **res, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		const char *m = rd_kafka_topic_result_error_string(res[i]);
		printf("topic %s %s%s%s\n", rd_kafka_topic_result_name(res[i]),
		       rd_kafka_err2name(rd_kafka_topic_result_error(res[i])),
		       m && *m ? " " : "", m && *m ? m : "");
	}
}

static int take_n(int *argc, char ***argv)
{
	if (*argc > 0 && !strcmp((*argv)[0], "-n")) {
		(*argc)--;
		(*argv)++;
		return 1;
	}
	return 0;
}

static void cmd_create(int argc, char **argv)
{
	char errstr[512];
	int validate = take_n(&argc, &argv), i;
	rd_kafka_NewTopic_t **nt;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t n;

	if (argc < 1)
		usage();
	nt = calloc(argc, sizeof *nt);
	for (i = 0; i < argc; i++) {
		char *spec = xstrdup(argv[i]), *name, *parts, *rf, *cfg, *kv, *save = NULL;
		name = strtok_r(spec, ":", &save);
		parts = strtok_r(NULL, ":", &save);
		rf = strtok_r(NULL, ":", &save);
		cfg = strtok_r(NULL, "", &save);
		if (!name || !parts || !rf)
			usage();
		nt[i] = rd_kafka_NewTopic_new(name, atoi(parts), atoi(rf), errstr, sizeof errstr);
		if (!nt[i]) {
			printf("topic %s %s %s\n", name,
			       rd_kafka_err2name(RD_KAFKA_RESP_ERR__INVALID_ARG), errstr);
			exit(1);
		}
		for (kv = cfg ? strtok_r(cfg, ",", &save) : NULL; kv;
		     kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			if (!eq)
				usage();
			*eq = 0;
			rd_kafka_NewTopic_set_config(nt[i], kv, eq + 1);
		}
	}
	rd_kafka_CreateTopics(rk, nt, argc, options(RD_KAFKA_ADMIN_OP_CREATETOPICS, validate), q);
	ev = wait_result(RD_KAFKA_EVENT_CREATETOPICS_RESULT);
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	print_topic_results(res, n);
}

static void cmd_create_assign(int argc, char **argv)
{
	char errstr[512];
	int validate = take_n(&argc, &argv);
	rd_kafka_NewTopic_t *nt;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t n;
	char *spec, *part, *save = NULL;
	int p = 0;

	if (argc != 2)
		usage();
	for (part = argv[1]; (part = strchr(part, '/')); part++)
		p++;
	nt = rd_kafka_NewTopic_new(argv[0], p + 1, -1, errstr, sizeof errstr);
	if (!nt)
		die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
	p = 0;
	spec = xstrdup(argv[1]);
	for (part = strtok_r(spec, "/", &save); part; part = strtok_r(NULL, "/", &save), p++) {
		int32_t ids[64];
		size_t cnt = 0;
		char *b, *save2 = NULL;
		for (b = strtok_r(part, ",", &save2); b && cnt < 64; b = strtok_r(NULL, ",", &save2))
			ids[cnt++] = atoi(b);
		if (rd_kafka_NewTopic_set_replica_assignment(nt, p, ids, cnt, errstr, sizeof errstr))
			die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
	}
	rd_kafka_CreateTopics(rk, &nt, 1, options(RD_KAFKA_ADMIN_OP_CREATETOPICS, validate), q);
	ev = wait_result(RD_KAFKA_EVENT_CREATETOPICS_RESULT);
	res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	print_topic_results(res, n);
}

static void cmd_partitions(int argc, char **argv)
{
	char errstr[512];
	int validate = take_n(&argc, &argv), i;
	rd_kafka_NewPartitions_t **np;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t n;

	if (argc < 1)
		usage();
	np = calloc(argc, sizeof *np);
	for (i = 0; i < argc; i++) {
		char *spec = xstrdup(argv[i]), *colon = strrchr(spec, ':');
		if (!colon)
			usage();
		*colon = 0;
		np[i] = rd_kafka_NewPartitions_new(spec, atoi(colon + 1), errstr, sizeof errstr);
		if (!np[i])
			die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, errstr);
	}
	rd_kafka_CreatePartitions(rk, np, argc,
				  options(RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, validate), q);
	ev = wait_result(RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT);
	res = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev),
						      &n);
	print_topic_results(res, n);
}

static void cmd_delete(int argc, char **argv)
{
	rd_kafka_DeleteTopic_t **dt;
	rd_kafka_event_t *ev;
	const rd_kafka_topic_result_t **res;
	size_t n;
	int i;

	if (argc < 1)
		usage();
	dt = calloc(argc, sizeof *dt);
	for (i = 0; i < argc; i++)
		dt[i] = rd_kafka_DeleteTopic_new(argv[i]);
	rd_kafka_DeleteTopics(rk, dt, argc, options(RD_KAFKA_ADMIN_OP_DELETETOPICS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_DELETETOPICS_RESULT);
	res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
	print_topic_results(res, n);
}

static rd_kafka_ResourceType_t restype(const char *s)
{
	if (!strcmp(s, "topic"))
		return RD_KAFKA_RESOURCE_TOPIC;
	if (!strcmp(s, "broker"))
		return RD_KAFKA_RESOURCE_BROKER;
	usage();
	return RD_KAFKA_RESOURCE_UNKNOWN;
}

static void print_resource(const rd_kafka_ConfigResource_t *r, int entries)
{
	const rd_kafka_ConfigEntry_t **ce;
	const char *m = rd_kafka_ConfigResource_error_string(r);
	size_t n, i, j;

	printf("resource %s %s %s%s%s\n",
	       rd_kafka_ResourceType_name(rd_kafka_ConfigResource_type(r)),
	       rd_kafka_ConfigResource_name(r),
	       rd_kafka_err2name(rd_kafka_ConfigResource_error(r)),
	       m && *m ? " " : "", m && *m ? m : "");
	if (!entries)
		return;
	ce = rd_kafka_ConfigResource_configs(r, &n);
	for (i = 0; i < n; i++) {
		const rd_kafka_ConfigEntry_t **syn;
		size_t sn;
		const char *v = rd_kafka_ConfigEntry_value(ce[i]);
		printf("config %s=%s source=%s default=%d read_only=%d sensitive=%d synonyms=",
		       rd_kafka_ConfigEntry_name(ce[i]), v ? v : "(null)",
		       rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(ce[i])),
		       rd_kafka_ConfigEntry_is_default(ce[i]),
		       rd_kafka_ConfigEntry_is_read_only(ce[i]),
		       rd_kafka_ConfigEntry_is_sensitive(ce[i]));
		syn = rd_kafka_ConfigEntry_synonyms(ce[i], &sn);
		for (j = 0; j < sn; j++) {
			const char *sv = rd_kafka_ConfigEntry_value(syn[j]);
			printf("%s%s=%s(%s)", j ? ";" : "", rd_kafka_ConfigEntry_name(syn[j]),
			       sv ? sv : "(null)",
			       rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[j])));
		}
		printf("\n");
	}
}

static void cmd_describe_configs(int argc, char **argv)
{
	rd_kafka_ConfigResource_t *r;
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigResource_t **res;
	size_t n, i;

	if (argc != 2)
		usage();
	r = rd_kafka_ConfigResource_new(restype(argv[0]), argv[1]);
	rd_kafka_DescribeConfigs(rk, &r, 1, options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
	res = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(ev), &n);
	for (i = 0; i < n; i++)
		print_resource(res[i], 1);
}

static void cmd_alter_configs(int argc, char **argv)
{
	int validate = take_n(&argc, &argv), i;
	rd_kafka_ConfigResource_t *r;
	rd_kafka_event_t *ev;
	const rd_kafka_ConfigResource_t **res;
	size_t n, j;

	if (argc < 2)
		usage();
	r = rd_kafka_ConfigResource_new(restype(argv[0]), argv[1]);
	for (i = 2; i < argc; i++) {
		char *kv = xstrdup(argv[i]), *eq = strchr(kv, '=');
		if (!eq)
			usage();
		*eq = 0;
		if (rd_kafka_ConfigResource_set_config(r, kv, eq + 1))
			die_err(RD_KAFKA_RESP_ERR__INVALID_ARG, kv);
	}
	rd_kafka_AlterConfigs(rk, &r, 1, options(RD_KAFKA_ADMIN_OP_ALTERCONFIGS, validate), q);
	ev = wait_result(RD_KAFKA_EVENT_ALTERCONFIGS_RESULT);
	res = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
	for (j = 0; j < n; j++)
		print_resource(res[j], 0);
}

static void cmd_list_groups(void)
{
	rd_kafka_event_t *ev;
	const rd_kafka_ListConsumerGroups_result_t *lr;
	const rd_kafka_ConsumerGroupListing_t **gl;
	const rd_kafka_error_t **errs;
	size_t n, i;

	rd_kafka_ListConsumerGroups(rk, options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT);
	lr = rd_kafka_event_ListConsumerGroups_result(ev);
	gl = rd_kafka_ListConsumerGroups_result_valid(lr, &n);
	for (i = 0; i < n; i++)
		printf("group %s state=%s simple=%d\n", rd_kafka_ConsumerGroupListing_group_id(gl[i]),
		       rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i])),
		       rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gl[i]));
	errs = rd_kafka_ListConsumerGroups_result_errors(lr, &n);
	for (i = 0; i < n; i++)
		printf("error %s %s\n", rd_kafka_error_name(errs[i]), rd_kafka_error_string(errs[i]));
}

static void print_partitions(const rd_kafka_topic_partition_list_t *l)
{
	int i;
	for (i = 0; l && i < l->cnt; i++)
		printf("%s%s[%d]", i ? "," : "", l->elems[i].topic, l->elems[i].partition);
}

static void cmd_describe_groups(int argc, char **argv)
{
	rd_kafka_event_t *ev;
	const rd_kafka_ConsumerGroupDescription_t **gd;
	size_t n, i, j;

	if (argc < 1)
		usage();
	rd_kafka_DescribeConsumerGroups(rk, (const char **)argv, argc,
					options(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT);
	gd = rd_kafka_DescribeConsumerGroups_result_groups(
	    rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	for (i = 0; i < n; i++) {
		const rd_kafka_error_t *e = rd_kafka_ConsumerGroupDescription_error(gd[i]);
		const rd_kafka_Node_t *c = rd_kafka_ConsumerGroupDescription_coordinator(gd[i]);
		const char *as = rd_kafka_ConsumerGroupDescription_partition_assignor(gd[i]);
		size_t mc = rd_kafka_ConsumerGroupDescription_member_count(gd[i]);
		printf("group %s %s state=%s assignor=%s coordinator=%d simple=%d members=%zu\n",
		       rd_kafka_ConsumerGroupDescription_group_id(gd[i]),
		       e ? rd_kafka_error_name(e) : "NO_ERROR",
		       rd_kafka_consumer_group_state_name(
			   rd_kafka_ConsumerGroupDescription_state(gd[i])),
		       as && *as ? as : "-", c ? rd_kafka_Node_id(c) : -1,
		       rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(gd[i]), mc);
		for (j = 0; j < mc; j++) {
			const rd_kafka_MemberDescription_t *m =
			    rd_kafka_ConsumerGroupDescription_member(gd[i], j);
			printf("member %s client_id=%s host=%s assignment=",
			       rd_kafka_MemberDescription_consumer_id(m),
			       rd_kafka_MemberDescription_client_id(m),
			       rd_kafka_MemberDescription_host(m));
			print_partitions(rd_kafka_MemberAssignment_partitions(
			    rd_kafka_MemberDescription_assignment(m)));
			printf("\n");
		}
	}
}

static void cmd_group_offsets(int argc, char **argv)
{
	rd_kafka_topic_partition_list_t *parts = NULL;
	rd_kafka_ListConsumerGroupOffsets_t *lo;
	rd_kafka_event_t *ev;
	const rd_kafka_group_result_t **gr;
	size_t n, i;
	int k;

	if (argc < 1)
		usage();
	if (argc > 1) {
		parts = rd_kafka_topic_partition_list_new(argc - 1);
		for (k = 1; k < argc; k++) {
			char *spec = xstrdup(argv[k]), *colon = strrchr(spec, ':');
			if (!colon)
				usage();
			*colon = 0;
			rd_kafka_topic_partition_list_add(parts, spec, atoi(colon + 1));
		}
	}
	lo = rd_kafka_ListConsumerGroupOffsets_new(argv[0], parts);
	rd_kafka_ListConsumerGroupOffsets(rk, &lo, 1,
					  options(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT);
	gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
	    rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
	for (i = 0; i < n; i++) {
		const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[i]);
		const rd_kafka_topic_partition_list_t *l = rd_kafka_group_result_partitions(gr[i]);
		printf("group %s %s\n", rd_kafka_group_result_name(gr[i]),
		       e ? rd_kafka_error_name(e) : "NO_ERROR");
		for (k = 0; l && k < l->cnt; k++)
			printf("offset %s %d %lld %s\n", l->elems[k].topic, l->elems[k].partition,
			       (long long)l->elems[k].offset, rd_kafka_err2name(l->elems[k].err));
	}
}

static void cmd_delete_groups(int argc, char **argv)
{
	rd_kafka_DeleteGroup_t **dg;
	rd_kafka_event_t *ev;
	const rd_kafka_group_result_t **gr;
	size_t n, i;
	int k;

	if (argc < 1)
		usage();
	dg = calloc(argc, sizeof *dg);
	for (k = 0; k < argc; k++)
		dg[k] = rd_kafka_DeleteGroup_new(argv[k]);
	rd_kafka_DeleteGroups(rk, dg, argc, options(RD_KAFKA_ADMIN_OP_DELETEGROUPS, 0), q);
	ev = wait_result(RD_KAFKA_EVENT_DELETEGROUPS_RESULT);
	gr = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
	for (i = 0; i < n; i++) {
		const rd_kafka_error_t *e = rd_kafka_group_result_error(gr[i]);
		printf("group %s %s\n", rd_kafka_group_result_name(gr[i]),
		       e ? rd_kafka_error_name(e) : "NO_ERROR");
	}
}

static void print_ids(const int32_t *ids, int n)
{
	int i;
	for (i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", ids[i]);
}

static void cmd_metadata(int argc, char **argv)
{
	const struct rd_kafka_metadata *md;
	rd_kafka_topic_t *t = NULL;
	rd_kafka_resp_err_t err;
	int i, j;

	if (argc > 1)
		usage();
	if (argc == 1)
		t = rd_kafka_topic_new(rk, argv[0], NULL);
	err = rd_kafka_metadata(rk, t == NULL, t, &md, timeout_ms);
	if (err)
		die_err(err, "metadata");
	for (i = 0; i < md->broker_cnt; i++)
		printf("broker %d %s:%d\n", md->brokers[i].id, md->brokers[i].host,
		       md->brokers[i].port);
	for (i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[i];
		printf("topic %s partitions=%d %s\n", mt->topic, mt->partition_cnt,
		       rd_kafka_err2name(mt->err));
		for (j = 0; j < mt->partition_cnt; j++) {
			const struct rd_kafka_metadata_partition *mp = &mt->partitions[j];
			printf("partition %s %d leader=%d replicas=", mt->topic, mp->id, mp->leader);
			print_ids(mp->replicas, mp->replica_cnt);
			printf(" isr=");
			print_ids(mp->isrs, mp->isr_cnt);
			printf(" %s\n", rd_kafka_err2name(mp->err));
		}
	}
	rd_kafka_metadata_destroy(md);
	if (t)
		rd_kafka_topic_destroy(t);
}

static void cmd_watermarks(int argc, char **argv)
{
	int64_t lo, hi;
	rd_kafka_resp_err_t err;

	if (argc != 2)
		usage();
	err = rd_kafka_query_watermark_offsets(rk, argv[0], atoi(argv[1]), &lo, &hi, timeout_ms);
	if (err)
		die_err(err, "watermarks");
	printf("low %lld high %lld\n", (long long)lo, (long long)hi);
}

int main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "-t")) {
		timeout_ms = atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		usage();
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "client.id", "kafka_admin_check", errstr, sizeof errstr) ||
	    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr)) {
		fprintf(stderr, "%s\n", errstr);
		return 2;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk) {
		fprintf(stderr, "rd_kafka_new: %s\n", errstr);
		return 1;
	}
	q = rd_kafka_queue_new(rk);
	cmd = argv[2];
	argc -= 3;
	argv += 3;
	if (!strcmp(cmd, "create"))
		cmd_create(argc, argv);
	else if (!strcmp(cmd, "create-assign"))
		cmd_create_assign(argc, argv);
	else if (!strcmp(cmd, "partitions"))
		cmd_partitions(argc, argv);
	else if (!strcmp(cmd, "delete"))
		cmd_delete(argc, argv);
	else if (!strcmp(cmd, "describe-configs"))
		cmd_describe_configs(argc, argv);
	else if (!strcmp(cmd, "alter-configs"))
		cmd_alter_configs(argc, argv);
	else if (!strcmp(cmd, "list-groups"))
		cmd_list_groups();
	else if (!strcmp(cmd, "describe-groups"))
		cmd_describe_groups(argc, argv);
	else if (!strcmp(cmd, "group-offsets"))
		cmd_group_offsets(argc, argv);
	else if (!strcmp(cmd, "delete-groups"))
		cmd_delete_groups(argc, argv);
	else if (!strcmp(cmd, "metadata"))
		cmd_metadata(argc, argv);
	else if (!strcmp(cmd, "watermarks"))
		cmd_watermarks(argc, argv);
	else
		usage();
	/* Leave at once: the answers are printed, and a clean destroy may
	 * wait for brokers a test paused or took down. */
	fflush(stdout);
	_Exit(0);
}
