/*
 * jpack.c: packed JSON (see jpack.h).
 *
 * Layout of one jpack: a header, the values, then the strings.
 *
 *   value   := tag byte, then
 *              NULL FALSE TRUE: nothing
 *              INT:   zigzag varint
 *              REAL:  8 bytes, the double as stored in memory
 *              STR:   varint offset of the string in the string area
 *              DSTR:  varint index into the built-in dictionary
 *              ARR:   u32 byte size of the elements, the elements
 *              OBJ:   u32 byte size of the members, the members
 *   member  := varint key reference (index << 1 | 1 for the dictionary,
 *              offset << 1 for the string area), value
 *   string  := varint length, the bytes, a NUL
 *
 * Every distinct string is stored once per jpack (the encoder interns
 * them), and strings in the dictionary are not stored at all.  The byte
 * size of a container lets a reader skip it whole.
 *
 * The dictionary is the vocabulary of Marathon's app and task objects
 * (API-NOTES 1.3, the RAML types): keys and the enumerated values.  A word
 * missing from it still packs, only once per document instead of never.
 * Its order is part of nothing persistent: jpacks live in memory only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jpack.h"

enum { T_NULL, T_FALSE, T_TRUE, T_INT, T_REAL, T_STR, T_DSTR, T_ARR, T_OBJ };

struct jpack {
	uint32_t	 size;		/* of the whole allocation */
	uint32_t	 vlen;		/* value bytes; strings follow */
	unsigned char	 data[];
};

static const char *const dict[] = {
	"", "*", "true", "false", "default", "host", "container", "bridge",
	"id", "cmd", "args", "user", "env", "instances", "cpus", "mem", "disk",
	"gpus", "executor", "constraints", "uris", "fetch", "uri",
	"extract", "executable", "cache", "destPath", "storeUrls",
	"backoffSeconds", "backoffFactor", "maxLaunchDelaySeconds",
	"type", "docker", "image", "network", "forcePullImage",
	"privileged", "parameters", "portMappings", "containerPort",
	"hostPort", "servicePort", "protocol", "name", "labels", "volumes",
	"containerPath", "hostPath", "mode", "persistent", "external", "size",
	"healthChecks", "gracePeriodSeconds", "intervalSeconds",
	"maxConsecutiveFailures", "path", "portIndex", "port",
	"timeoutSeconds", "delaySeconds", "ignoreHttp1xx", "ipProtocol",
	"command", "value", "readinessChecks", "httpStatusCodesForReady",
	"preserveLastResponse", "dependencies", "upgradeStrategy",
	"minimumHealthCapacity", "maximumOverCapacity",
	"acceptedResourceRoles", "ipAddress", "groups", "discovery", "ports",
	"number", "version", "versionInfo", "lastScalingAt",
	"lastConfigChangeAt", "residency", "relaunchEscalationTimeoutSeconds",
	"taskLostBehavior", "secrets", "source", "taskKillGracePeriodSeconds",
	"killSelection", "unreachableStrategy", "inactiveAfterSeconds",
	"expungeAfterSeconds", "networks", "portDefinitions", "requirePorts",
	"role", "tasksStaged", "tasksRunning", "tasksHealthy",
	"tasksUnhealthy", "deployments", "tasks", "lastTaskFailure",
	"readinessCheckResults", "tasksStats", "appId", "slaveId", "agentId",
	"state", "stagedAt", "startedAt", "ipAddresses", "healthCheckResults",
	"alive", "consecutiveFailures", "firstSuccess", "lastSuccess",
	"lastFailure", "lastFailureCause", "instanceId", "taskId",
	"localVolumes", "servicePorts", "message", "timestamp", "check",
	"checks", "http", "https", "tcp", "exec", "scheme", "endpoint",
	"endpoints", "hostname", "zone", "region", "fault_domain",
	"artifacts", "ready", "lastResponse", "body", "contentType", "status",
	"taskStats", "startedAfterLastScaling", "withLatestConfig",
	"withOutdatedConfig", "totalSummary", "stats", "counts", "staged",
	"running", "healthy", "unhealthy", "lifeTime", "averageSeconds",
	"medianSeconds", "volumeMounts", "mountPath", "readOnly", "resources",
	"shell", "overrideEntrypoint", "linuxInfo", "seccomp", "ipcInfo",
	"shmSize", "ipcMode", "tty", "pullConfig", "secret", "placement",
	"scaling", "maxInstances", "kind", "action", "actions", "app", "pod",
	"readinessCheckResult",
	/* enumerated values */
	"TASK_RUNNING", "TASK_STAGING", "TASK_STARTING", "TASK_KILLING",
	"TASK_KILLED", "TASK_FAILED", "TASK_FINISHED", "TASK_LOST",
	"TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_UNREACHABLE",
	"TASK_UNKNOWN", "TASK_GONE_BY_OPERATOR", "IPv4", "IPv6", "udp",
	"tcp,udp", "HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP",
	"MESOS_HTTPS", "MESOS_TCP", "BRIDGE", "HOST", "USER", "DOCKER",
	"MESOS", "YOUNGEST_FIRST", "OLDEST_FIRST", "RW", "RO", "UNIQUE",
	"CLUSTER", "GROUP_BY", "LIKE", "UNLIKE", "MAX_PER", "IS",
	"container/bridge", "mesos", "ScaleApplication",
	"StartApplication", "StopApplication", "RestartApplication",
	"ResolveArtifacts", "continue", "CONTINUE",
};

#define NDICT	(sizeof(dict) / sizeof(dict[0]))
#define DICT_SLOTS	1024		/* power of two, > 2 * NDICT */

static uint16_t dict_len[NDICT];
static int16_t dict_slot[DICT_SLOTS];	/* index + 1, 0: empty */
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void
dict_init(void)
{
	size_t i, h;

	for (i = 0; i < NDICT; i++) {
		dict_len[i] = (uint16_t)strlen(dict[i]);
		h = (size_t)hash64(dict[i], dict_len[i]) & (DICT_SLOTS - 1);
		while (dict_slot[h])
			h = (h + 1) & (DICT_SLOTS - 1);
		/* A word listed twice keeps its first index. */
		dict_slot[h] = (int16_t)(i + 1);
	}
}

/* Index of s in the dictionary, or -1. */
static int
dict_find(const char *s, size_t n, uint64_t hash)
{
	size_t h = (size_t)hash & (DICT_SLOTS - 1);
	int i;

	pthread_once(&dict_once, dict_init);
	while ((i = dict_slot[h]) != 0) {
		i--;
		if (dict_len[i] == n && memcmp(dict[i], s, n) == 0)
			return i;
		h = (h + 1) & (DICT_SLOTS - 1);
	}
	return -1;
}

/* ---- encoding ------------------------------------------------------------ */

struct bytes {
	unsigned char	*p;
	size_t		 len, alloc;
	int		 err;
};

struct enc {
	struct bytes	 v;		/* values */
	struct bytes	 s;		/* strings */
	uint32_t	*slot_off;	/* intern table: string offset + 1 */
	uint64_t	*slot_hash;
	size_t		 nslots, used;
};

static void
put(struct bytes *b, const void *p, size_t n)
{
	unsigned char *np;
	size_t na;

	if (b->err || n == 0)
		return;
	if (b->len + n > b->alloc) {
		na = b->alloc ? b->alloc : 256;
		while (na < b->len + n)
			na *= 2;
		if (na > UINT32_MAX || (np = realloc(b->p, na)) == NULL) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->alloc = na;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_byte(struct bytes *b, unsigned c)
{
	unsigned char ch = (unsigned char)c;

	put(b, &ch, 1);
}

static void
put_varint(struct bytes *b, uint64_t x)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(x & 0x7f);
		x >>= 7;
		if (x)
			tmp[n] |= 0x80;
		n++;
	} while (x);
	put(b, tmp, n);
}

static int
intern_grow(struct enc *e)
{
	size_t n = e->nslots ? e->nslots * 2 : 64, i, h;
	uint32_t *off = calloc(n, sizeof(*off));
	uint64_t *hash = calloc(n, sizeof(*hash));

	if (off == NULL || hash == NULL) {
		free(off);
		free(hash);
		return -ENOMEM;
	}
	for (i = 0; i < e->nslots; i++) {
		if (e->slot_off[i] == 0)
			continue;
		h = (size_t)e->slot_hash[i] & (n - 1);
		while (off[h])
			h = (h + 1) & (n - 1);
		off[h] = e->slot_off[i];
		hash[h] = e->slot_hash[i];
	}
	free(e->slot_off);
	free(e->slot_hash);
	e->slot_off = off;
	e->slot_hash = hash;
	e->nslots = n;
	return 0;
}

/* Read a varint at p; advances *pp. */
static uint64_t
get_varint(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	int shift = 0;

	do {
		x |= (uint64_t)(*p & 0x7f) << shift;
		shift += 7;
	} while (*p++ & 0x80);
	*pp = p;
	return x;
}

/*
 * A reference to string s: (index << 1 | 1) in the dictionary, or (offset
 * << 1) in the string area, which gets s the first time.
 */
static uint64_t
string_ref(struct enc *e, const char *s, size_t n)
{
	uint64_t hash = hash64(s, n);
	const unsigned char *q;
	size_t h, slen;
	uint32_t off;
	int d;

	if ((d = dict_find(s, n, hash)) >= 0)
		return (uint64_t)d << 1 | 1;
	if ((e->used + 1) * 2 > e->nslots && intern_grow(e) != 0) {
		e->s.err = -ENOMEM;
		return 0;
	}
	h = (size_t)hash & (e->nslots - 1);
	while ((off = e->slot_off[h]) != 0) {
		if (e->slot_hash[h] == hash) {
			q = e->s.p + off - 1;
			slen = (size_t)get_varint(&q);
			if (slen == n && memcmp(q, s, n) == 0)
				return (uint64_t)(off - 1) << 1;
		}
		h = (h + 1) & (e->nslots - 1);
	}
	off = (uint32_t)e->s.len;
	put_varint(&e->s, n);
	put(&e->s, s, n);
	put_byte(&e->s, 0);
	if (e->s.err)
		return 0;
	e->slot_off[h] = off + 1;
	e->slot_hash[h] = hash;
	e->used++;
	return (uint64_t)off << 1;
}

static void
put_u32_at(struct bytes *b, size_t at, uint32_t x)
{
	if (b->err)
		return;
	memcpy(b->p + at, &x, sizeof(x));
}

static void
encode(struct enc *e, json_t *v)
{
	const char *key;
	size_t i, at, keylen;
	json_t *m;
	uint64_t ref, z;
	long long n;
	double d;

	switch (json_typeof(v)) {
	case JSON_NULL:
		put_byte(&e->v, T_NULL);
		break;
	case JSON_FALSE:
		put_byte(&e->v, T_FALSE);
		break;
	case JSON_TRUE:
		put_byte(&e->v, T_TRUE);
		break;
	case JSON_INTEGER:
		n = json_integer_value(v);
		z = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
		put_byte(&e->v, T_INT);
		put_varint(&e->v, z);
		break;
	case JSON_REAL:
		d = json_real_value(v);
		put_byte(&e->v, T_REAL);
		put(&e->v, &d, sizeof(d));
		break;
	case JSON_STRING:
		ref = string_ref(e, json_string_value(v), json_string_length(v));
		put_byte(&e->v, ref & 1 ? T_DSTR : T_STR);
		put_varint(&e->v, ref >> 1);
		break;
	case JSON_ARRAY:
		put_byte(&e->v, T_ARR);
		at = e->v.len;
		put(&e->v, "\0\0\0\0", 4);
		json_array_foreach(v, i, m)
			encode(e, m);
		put_u32_at(&e->v, at, (uint32_t)(e->v.len - at - 4));
		break;
	case JSON_OBJECT:
		put_byte(&e->v, T_OBJ);
		at = e->v.len;
		put(&e->v, "\0\0\0\0", 4);
		json_object_keylen_foreach(v, key, keylen, m) {
			put_varint(&e->v, string_ref(e, key, keylen));
			encode(e, m);
		}
		put_u32_at(&e->v, at, (uint32_t)(e->v.len - at - 4));
		break;
	}
}

static struct jpack *finish(struct enc *e);

struct jpack *
jpack_new(json_t *v)
{
	struct enc e;

	memset(&e, 0, sizeof(e));
	encode(&e, v);
	return finish(&e);
}

/* ---- parsing text ---------------------------------------------------------- */

/*
 * A parser straight into the packed form: jansson would allocate an object
 * per value only for us to pack and free them (62 MB of apps take jansson
 * 3.4 s here).  It is as strict as jansson with JSON_REJECT_DUPLICATES:
 * RFC 8259 grammar, UTF-8 checked (no overlong forms, surrogates or code
 * points past U+10FFFF), no control characters in strings, no \u0000,
 * surrogate pairs paired, integers and reals in range, no key twice in one
 * object, nesting at most 2048 deep.
 */
#define MAX_DEPTH	2048

struct parser {
	const unsigned char	*p, *end, *start;
	struct enc		 e;
	struct bytes		 tmp;		/* an unescaped string, a number */
	int			 depth;
	const char		*err;		/* what is wrong, or NULL */
	size_t			 errpos;
	int			 badbyte;	/* with "unable to decode byte" */
};

static int
fail(struct parser *ps, const char *what)
{
	if (ps->err == NULL) {
		ps->err = what;
		ps->errpos = (size_t)(ps->p - ps->start);
	}
	return -1;
}

static void
ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int
hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	int i, c;

	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = ps->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "invalid \\u escape");
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static void
put_utf8(struct bytes *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	put(b, u, n);
}

/* A string token at ps->p (the opening quote): its reference. */
static int
parse_string(struct parser *ps, uint64_t *ref)
{
	const unsigned char *s, *run;
	uint32_t cp, lo;
	size_t n;
	int escaped = 0;

	s = run = ++ps->p;
	ps->tmp.len = 0;
	for (;;) {
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		if (*ps->p == '"')
			break;
		if (*ps->p < 0x20)
			return fail(ps, "control character in a string");
		if (*ps->p < 0x80 && *ps->p != '\\') {
			ps->p++;
			continue;
		}
		if (*ps->p >= 0x80) {
			if ((n = utf8_seq(ps->p, (size_t)(ps->end - ps->p))) == 0) {
				ps->badbyte = *ps->p;
				return fail(ps, "unable to decode byte");
			}
			ps->p += n;
			continue;
		}
		/* A backslash: from here the string is built in tmp. */
		escaped = 1;
		put(&ps->tmp, run, (size_t)(ps->p - run));
		if (++ps->p >= ps->end)
			return fail(ps, "unterminated string");
		switch (*ps->p++) {
		case '"': put_byte(&ps->tmp, '"'); break;
		case '\\': put_byte(&ps->tmp, '\\'); break;
		case '/': put_byte(&ps->tmp, '/'); break;
		case 'b': put_byte(&ps->tmp, '\b'); break;
		case 'f': put_byte(&ps->tmp, '\f'); break;
		case 'n': put_byte(&ps->tmp, '\n'); break;
		case 'r': put_byte(&ps->tmp, '\r'); break;
		case 't': put_byte(&ps->tmp, '\t'); break;
		case 'u':
			if (hex4(ps, &cp) != 0)
				return -1;
			if (cp == 0)
				return fail(ps, "\\u0000 in a string");
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "lone low surrogate in a \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u')
					return fail(ps, "high surrogate without its pair");
				ps->p += 2;
				if (hex4(ps, &lo) != 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "high surrogate without its pair");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(&ps->tmp, cp);
			break;
		default:
			ps->p--;
			return fail(ps, "invalid escape in a string");
		}
		run = ps->p;
	}
	if (escaped) {
		put(&ps->tmp, run, (size_t)(ps->p - run));
		if (ps->tmp.err)
			return fail(ps, "out of memory");
		*ref = string_ref(&ps->e, (const char *)ps->tmp.p, ps->tmp.len);
	} else {
		*ref = string_ref(&ps->e, (const char *)s, (size_t)(ps->p - s));
	}
	ps->p++;		/* the closing quote */
	return ps->e.s.err ? fail(ps, "out of memory") : 0;
}

static void
digits(struct parser *ps)
{
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
}

static int
parse_number(struct parser *ps)
{
	const unsigned char *s = ps->p;
	int is_real = 0;
	long long n;
	uint64_t z;
	double d;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "invalid value");
	if (*ps->p == '0')
		ps->p++;
	else
		digits(ps);
	if (ps->p < ps->end && *ps->p == '.') {
		is_real = 1;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "invalid number");
		digits(ps);
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		is_real = 1;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "invalid number");
		digits(ps);
	}
	/* strtoll and strtod want a terminated string. */
	ps->tmp.len = 0;
	put(&ps->tmp, s, (size_t)(ps->p - s));
	put_byte(&ps->tmp, 0);
	if (ps->tmp.err)
		return fail(ps, "out of memory");
	errno = 0;
	if (!is_real) {
		n = strtoll((const char *)ps->tmp.p, NULL, 10);
		if (errno == ERANGE)
			return fail(ps, "integer out of range");
		z = ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
		put_byte(&ps->e.v, T_INT);
		put_varint(&ps->e.v, z);
	} else {
		d = strtod((const char *)ps->tmp.p, NULL);
		if (errno == ERANGE && (d > 1 || d < -1))
			return fail(ps, "real number out of range");
		put_byte(&ps->e.v, T_REAL);
		put(&ps->e.v, &d, sizeof(d));
	}
	return 0;
}

static int
literal(struct parser *ps, const char *word, unsigned tag)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return fail(ps, "invalid value");
	ps->p += n;
	put_byte(&ps->e.v, tag);
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Interned keys are equal exactly when their references are. */
static int
has_duplicate(uint64_t *refs, size_t n)
{
	size_t i, j;

	if (n <= 32) {
		for (i = 1; i < n; i++)
			for (j = 0; j < i; j++)
				if (refs[i] == refs[j])
					return 1;
		return 0;
	}
	qsort(refs, n, sizeof(*refs), cmp_u64);
	for (i = 1; i < n; i++)
		if (refs[i] == refs[i - 1])
			return 1;
	return 0;
}

static int parse_value(struct parser *ps);

/* An object member's key: its reference, remembered in *refs. */
static int
parse_key(struct parser *ps, uint64_t **refs, size_t *n, size_t *alloc,
    uint64_t *small)
{
	uint64_t ref, *nr;

	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps, "expected a string key");
	if (parse_string(ps, &ref) != 0)
		return -1;
	if (*n == *alloc) {
		*alloc *= 2;
		nr = *refs == small ? malloc(*alloc * sizeof(*nr)) :
		    realloc(*refs, *alloc * sizeof(*nr));
		if (nr == NULL)
			return fail(ps, "out of memory");
		if (*refs == small)
			memcpy(nr, small, *n * sizeof(*nr));
		*refs = nr;
	}
	(*refs)[(*n)++] = ref;
	put_varint(&ps->e.v, ref);
	ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return fail(ps, "expected ':'");
	ps->p++;
	ws(ps);
	return 0;
}

static int
parse_container(struct parser *ps, int obj)
{
	uint64_t small[32], *refs = small;
	size_t at_size, nrefs = 0, arefs = 32;
	unsigned char close = obj ? '}' : ']';
	int rc = -1;

	if (++ps->depth > MAX_DEPTH) {
		fail(ps, "nested too deep");
		goto out;
	}
	ps->p++;
	put_byte(&ps->e.v, obj ? T_OBJ : T_ARR);
	at_size = ps->e.v.len;
	put(&ps->e.v, "\0\0\0\0", 4);
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		goto done;
	}
	for (;;) {
		ws(ps);
		if (obj && parse_key(ps, &refs, &nrefs, &arefs, small) != 0)
			goto out;
		if (parse_value(ps) != 0)
			goto out;
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto out;
	}
	if (obj && has_duplicate(refs, nrefs)) {
		fail(ps, "duplicate key in an object");
		goto out;
	}
done:
	put_u32_at(&ps->e.v, at_size, (uint32_t)(ps->e.v.len - at_size - 4));
	rc = 0;
out:
	if (refs != small)
		free(refs);
	ps->depth--;
	return rc;
}

static int
parse_value(struct parser *ps)
{
	uint64_t ref;

	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of text");
	switch (*ps->p) {
	case '{':
		return parse_container(ps, 1);
	case '[':
		return parse_container(ps, 0);
	case '"':
		if (parse_string(ps, &ref) != 0)
			return -1;
		put_byte(&ps->e.v, ref & 1 ? T_DSTR : T_STR);
		put_varint(&ps->e.v, ref >> 1);
		return 0;
	case 't':
		return literal(ps, "true", T_TRUE);
	case 'f':
		return literal(ps, "false", T_FALSE);
	case 'n':
		return literal(ps, "null", T_NULL);
	default:
		return parse_number(ps);
	}
}

static void
enc_free(struct enc *e)
{
	free(e->v.p);
	free(e->s.p);
	free(e->slot_off);
	free(e->slot_hash);
	memset(e, 0, sizeof(*e));
}

/* The jpack of what e encoded (NULL: out of memory); frees e's buffers. */
static struct jpack *
finish(struct enc *e)
{
	struct jpack *p = NULL;
	size_t total;

	if (e->v.err || e->s.err || e->v.len == 0)
		goto out;
	total = sizeof(*p) + e->v.len + e->s.len;
	if (total > UINT32_MAX || (p = malloc(total)) == NULL)
		goto out;
	p->size = (uint32_t)total;
	p->vlen = (uint32_t)e->v.len;
	memcpy(p->data, e->v.p, e->v.len);
	if (e->s.len)
		memcpy(p->data + e->v.len, e->s.p, e->s.len);
out:
	enc_free(e);
	return p;
}

int
jpack_parse(const char *text, size_t len, struct jpack **out, size_t *used,
    char *err, size_t errsz)
{
	struct parser ps;
	int rc = 0;

	memset(&ps, 0, sizeof(ps));
	ps.start = ps.p = (const unsigned char *)text;
	ps.end = ps.start + len;
	*out = NULL;
	ws(&ps);
	if (parse_value(&ps) != 0 || ps.e.v.err || ps.e.s.err) {
		if (ps.err == NULL)
			fail(&ps, "out of memory");
		if (err && ps.badbyte)
			snprintf(err, errsz, "%s 0x%02x (not UTF-8) at byte %zu",
			    ps.err, ps.badbyte, ps.errpos);
		else if (err)
			snprintf(err, errsz, "%s at byte %zu", ps.err, ps.errpos);
		rc = strcmp(ps.err, "out of memory") == 0 ? -ENOMEM : -EINVAL;
		enc_free(&ps.e);
		goto out;
	}
	if (used)
		*used = (size_t)(ps.p - ps.start);
	if ((*out = finish(&ps.e)) == NULL) {
		if (err)
			snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
out:
	free(ps.tmp.p);
	return rc;
}

/* ---- delimiting without parsing -------------------------------------------- */

/*
 * The extent of the JSON value at text[pos] without building anything:
 * strings are skipped with their escapes, brackets counted.  It finds the
 * elements of a big array so that each can be hashed, and parsed only when
 * new; jpack_parse checks whatever is parsed.  Returns the offset just past
 * the value, or 0 when it is not one.
 */
static size_t
delimit(const char *text, size_t len, size_t pos)
{
	size_t depth = 0, i = pos, j;
	const char *q;
	char c;

	if (i >= len)
		return 0;
	c = text[i];
	if (c != '{' && c != '[' && c != '"') {
		/* A scalar runs to the next structural character. */
		while (i < len && text[i] && !strchr(",:]} \t\r\n", text[i]))
			i++;
		return i > pos ? i : 0;
	}
	for (; i < len; i++) {
		c = text[i];
		if (c == '"') {
			/* To the next quote not escaped: an even run of
			 * backslashes before it escapes only themselves. */
			for (;;) {
				q = memchr(text + i + 1, '"', len - i - 1);
				if (q == NULL)
					return 0;
				i = (size_t)(q - text);
				for (j = i; j > pos && text[j - 1] == '\\'; j--)
					;
				if ((i - j) % 2 == 0)
					break;
			}
			if (depth == 0)
				return i + 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

static size_t
skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' ||
	    t[i] == '\r'))
		i++;
	return i;
}

int
jpack_each(const char *text, size_t len, int obj,
    int (*fn)(void *arg, const char *key, const char *v, size_t vlen),
    void *arg, char *err, size_t errsz)
{
	char open = obj ? '{' : '[', close = obj ? '}' : ']';
	struct jpack *k = NULL;
	size_t i, end, used;
	int rc = 0;

	i = skip_ws(text, len, 0);
	if (i >= len || text[i] != open) {
		snprintf(err, errsz, "expected %s at byte %zu",
		    obj ? "an object" : "an array", i);
		return -EINVAL;
	}
	i = skip_ws(text, len, i + 1);
	if (i < len && text[i] == close)
		goto tail;
	for (;;) {
		if (obj) {
			/* Keys are parsed for real: callers compare them. */
			if (i >= len || text[i] != '"') {
				snprintf(err, errsz,
				    "expected a string key at byte %zu", i);
				rc = -EINVAL;
				goto out;
			}
			if ((rc = jpack_parse(text + i, len - i, &k, &used, err,
			    errsz)) != 0)
				goto out;
			i = skip_ws(text, len, i + used);
			if (i >= len || text[i] != ':') {
				snprintf(err, errsz, "expected ':' at byte %zu", i);
				rc = -EINVAL;
				goto out;
			}
			i = skip_ws(text, len, i + 1);
		}
		if ((end = delimit(text, len, i)) == 0) {
			snprintf(err, errsz, "invalid value at byte %zu", i);
			rc = -EINVAL;
			goto out;
		}
		rc = fn(arg, k ? jp_str(jpack_root(k), NULL) : NULL, text + i,
		    end - i);
		jpack_free(k);
		k = NULL;
		if (rc != 0)
			goto out;
		i = skip_ws(text, len, end);
		if (i < len && text[i] == ',') {
			i = skip_ws(text, len, i + 1);
			continue;
		}
		if (i < len && text[i] == close)
			break;
		snprintf(err, errsz, "expected ',' or '%c' at byte %zu", close, i);
		rc = -EINVAL;
		goto out;
	}
tail:
	i = skip_ws(text, len, i + 1);
	if (i != len) {
		snprintf(err, errsz, "text after the %s at byte %zu",
		    obj ? "object" : "array", i);
		rc = -EINVAL;
	}
out:
	jpack_free(k);
	return rc;
}

void
jpack_free(struct jpack *p)
{
	free(p);
}

size_t
jpack_size(const struct jpack *p)
{
	return p ? p->size : 0;
}

struct jp
jpack_root(const struct jpack *p)
{
	struct jp r = { p, 0 };

	return r;
}

/* ---- reading --------------------------------------------------------------- */

static const struct jp none = { NULL, 0 };

static const unsigned char *
vp(struct jp v)
{
	return v.pk->data + v.off;
}

enum jp_type
jp_type(struct jp v)
{
	if (v.pk == NULL)
		return JP_NONE;
	switch (*vp(v)) {
	case T_NULL:
		return JP_NULL;
	case T_FALSE:
		return JP_FALSE;
	case T_TRUE:
		return JP_TRUE;
	case T_INT:
		return JP_INT;
	case T_REAL:
		return JP_REAL;
	case T_STR:
	case T_DSTR:
		return JP_STR;
	case T_ARR:
		return JP_ARR;
	default:
		return JP_OBJ;
	}
}

/* The string of a reference; *len set. */
static const char *
ref_str(const struct jpack *pk, uint64_t ref, int dictionary, size_t *len)
{
	const unsigned char *q;

	if (dictionary) {
		pthread_once(&dict_once, dict_init);
		*len = dict_len[ref];
		return dict[ref];
	}
	q = pk->data + pk->vlen + ref;
	*len = (size_t)get_varint(&q);
	return (const char *)q;
}

/* Offset just past the value at off. */
static uint32_t
skip(const struct jpack *pk, uint32_t off)
{
	const unsigned char *p = pk->data + off, *q = p + 1;
	uint32_t size;

	switch (*p) {
	case T_NULL:
	case T_FALSE:
	case T_TRUE:
		break;
	case T_INT:
	case T_STR:
	case T_DSTR:
		get_varint(&q);
		break;
	case T_REAL:
		q += sizeof(double);
		break;
	default:
		memcpy(&size, q, sizeof(size));
		q += 4 + size;
		break;
	}
	return (uint32_t)(q - pk->data);
}

void
jp_iter(struct jp c, struct jp_iter *it)
{
	uint32_t size;

	memset(it, 0, sizeof(*it));
	if (c.pk == NULL || (*vp(c) != T_ARR && *vp(c) != T_OBJ))
		return;
	it->obj = *vp(c) == T_OBJ;
	memcpy(&size, vp(c) + 1, sizeof(size));
	it->cur.pk = c.pk;
	it->cur.off = c.off + 5;
	it->end = it->cur.off + size;
}

int
jp_next(struct jp_iter *it, struct jp *val, const char **key, size_t *keylen)
{
	const unsigned char *q;
	uint64_t ref;
	size_t n;

	if (it->cur.off >= it->end)
		return 0;
	if (it->obj) {
		q = vp(it->cur);
		ref = get_varint(&q);
		if (key) {
			*key = ref_str(it->cur.pk, ref >> 1, ref & 1, &n);
			if (keylen)
				*keylen = n;
		}
		it->cur.off = (uint32_t)(q - it->cur.pk->data);
	} else if (key) {
		*key = NULL;
	}
	*val = it->cur;
	it->cur.off = skip(it->cur.pk, it->cur.off);
	return 1;
}

struct jp
jp_get(struct jp obj, const char *key)
{
	struct jp_iter it;
	struct jp v;
	const char *k;
	size_t n = strlen(key), kn;

	if (jp_type(obj) != JP_OBJ)
		return none;
	jp_iter(obj, &it);
	while (jp_next(&it, &v, &k, &kn))
		if (kn == n && memcmp(k, key, n) == 0)
			return v;
	return none;
}

const char *
jp_str(struct jp v, size_t *len)
{
	const unsigned char *q;
	const char *s;
	uint64_t ref;
	size_t n;

	if (jp_type(v) != JP_STR)
		return NULL;
	q = vp(v) + 1;
	ref = get_varint(&q);
	s = ref_str(v.pk, ref, *vp(v) == T_DSTR, &n);
	if (len)
		*len = n;
	return s;
}

static long long
int_at(struct jp v)
{
	const unsigned char *q = vp(v) + 1;
	uint64_t z = get_varint(&q);

	return (long long)(z >> 1) ^ -(long long)(z & 1);
}

double
jp_real(struct jp v)
{
	double d = 0;

	if (jp_type(v) == JP_REAL)
		memcpy(&d, vp(v) + 1, sizeof(d));
	else if (jp_type(v) == JP_INT)
		d = (double)int_at(v);
	return d;
}

long long
jp_int(struct jp v)
{
	double d;

	if (jp_type(v) == JP_INT)
		return int_at(v);
	if (jp_type(v) == JP_REAL) {
		/* A real outside long long (1e300) is no count: 0. */
		d = jp_real(v);
		return d > -9.2e18 && d < 9.2e18 ? (long long)d : 0;
	}
	return 0;
}

size_t
jp_count(struct jp v)
{
	struct jp_iter it;
	struct jp m;
	size_t n = 0;

	jp_iter(v, &it);
	while (jp_next(&it, &m, NULL, NULL))
		n++;
	return n;
}

static int
skipped(const char *key, size_t n, const char *const *skip_keys)
{
	for (; skip_keys && *skip_keys; skip_keys++)
		if (strlen(*skip_keys) == n && memcmp(*skip_keys, key, n) == 0)
			return 1;
	return 0;
}

json_t *
jp_decode(struct jp v, const char *const *skip_keys)
{
	struct jp_iter it;
	struct jp m;
	const char *s, *key;
	size_t n, keylen;
	json_t *r = NULL, *c;

	switch (jp_type(v)) {
	case JP_NONE:
		return NULL;
	case JP_NULL:
		return json_null();
	case JP_FALSE:
		return json_false();
	case JP_TRUE:
		return json_true();
	case JP_INT:
		return json_integer(int_at(v));
	case JP_REAL:
		return json_real(jp_real(v));
	case JP_STR:
		s = jp_str(v, &n);
		return json_stringn_nocheck(s, n);
	case JP_ARR:
		if ((r = json_array()) == NULL)
			return NULL;
		jp_iter(v, &it);
		while (jp_next(&it, &m, NULL, NULL)) {
			if ((c = jp_decode(m, NULL)) == NULL ||
			    json_array_append_new(r, c) != 0)
				goto fail;
		}
		return r;
	case JP_OBJ:
		if ((r = json_object()) == NULL)
			return NULL;
		jp_iter(v, &it);
		while (jp_next(&it, &m, &key, &keylen)) {
			if (skipped(key, keylen, skip_keys))
				continue;
			if ((c = jp_decode(m, NULL)) == NULL ||
			    json_object_setn_new_nocheck(r, key, keylen, c) != 0)
				goto fail;
		}
		return r;
	}
fail:
	json_decref(r);
	return NULL;
}
