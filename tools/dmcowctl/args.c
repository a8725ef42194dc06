// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: size, name and option parsing.
 */
#include "args.h"
#include "dmcowctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_uint(const char *s, uint64_t *v)
{
	unsigned long long x;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

static int suffix_shift(const char *suf, int *shift)
{
	/* Accept "k", "K", "KiB", "kb"... all binary: block sizes are. */
	static const char units[] = "kmgtp";
	const char *u;

	if (!*suf) {
		*shift = 0;
		return 0;
	}
	if ((suf[0] == 's' || suf[0] == 'S') && !suf[1]) {
		*shift = 9;
		return 0;
	}
	u = strchr(units, tolower((unsigned char)suf[0]));
	if (!u || !suf[0])
		return -EINVAL;
	if (suf[1] && strcasecmp(suf + 1, "ib") && strcasecmp(suf + 1, "b"))
		return -EINVAL;
	*shift = 10 * (int)(u - units + 1);
	return 0;
}

int parse_size(const char *s, uint64_t *sectors)
{
	unsigned long long x;
	char *end;
	int shift;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || suffix_shift(end, &shift))
		return -EINVAL;
	if (shift == 0) {
		if (x % 512)
			return -EINVAL;
		*sectors = x / 512;
		return 0;
	}
	/* Overflow of the byte count: refuse rather than wrap. */
	if (shift < 64 && x > (UINT64_MAX >> shift))
		return -EINVAL;
	*sectors = (x << shift) >> 9;
	return 0;
}

int parse_size_or_percent(const char *s, uint64_t *sectors, unsigned int *percent)
{
	size_t len = s ? strlen(s) : 0;
	uint64_t v;
	char buf[32];

	*percent = 0;
	*sectors = 0;
	if (len > 1 && len < sizeof(buf) && s[len - 1] == '%') {
		memcpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		if (parse_uint(buf, &v) || v == 0 || v > 1000)
			return -EINVAL;
		*percent = (unsigned int)v;
		return 0;
	}
	return parse_size(s, sectors);
}

static bool valid_chars(const char *name)
{
	const char *p;

	for (p = name; *p; p++)
		if (*p == '/' || *p == ',' || isspace((unsigned char)*p) ||
		    !isprint((unsigned char)*p))
			return false;
	return true;
}

bool valid_pool_name(const char *name)
{
	/*
	 * Volumes are POOL-NAME; keep room for that in a dm name, and no '-'
	 * in POOL, or pool a-b's volume c and pool a's volume b-c would both
	 * be /dev/mapper/a-b-c.
	 */
	if (!*name || strlen(name) >= POOL_NAME_LEN - VOL_NAME_LEN ||
	    !valid_chars(name) || strchr(name, '-') || !strcmp(name, ".") ||
	    !strcmp(name, "..")) {
		dmcowctl_err("'%s' is not a valid pool name: use 1 to %d printable characters without '/', ',', '-' or spaces",
			     name, POOL_NAME_LEN - VOL_NAME_LEN - 1);
		return false;
	}
	return true;
}

bool valid_volume_name(const char *name)
{
	if (!*name || strlen(name) >= VOL_NAME_LEN || !valid_chars(name) ||
	    !strcmp(name, ".") || !strcmp(name, "..")) {
		dmcowctl_err("'%s' is not a valid volume name: use 1 to %d printable characters without '/', ',' or spaces",
			     name, VOL_NAME_LEN - 1);
		return false;
	}
	return true;
}

int parse_vol_ref(const char *s, struct vol_ref *ref)
{
	const char *slash = strchr(s, '/');
	size_t plen;

	if (!slash || strchr(slash + 1, '/')) {
		dmcowctl_err("'%s' is not POOL/NAME", s);
		return -EINVAL;
	}
	plen = (size_t)(slash - s);
	if (plen >= sizeof(ref->pool)) {
		dmcowctl_err("pool name in '%s' is too long", s);
		return -EINVAL;
	}
	memcpy(ref->pool, s, plen);
	ref->pool[plen] = '\0';
	if (!valid_pool_name(ref->pool) || !valid_volume_name(slash + 1))
		return -EINVAL;
	snprintf(ref->name, sizeof(ref->name), "%s", slash + 1);
	return 0;
}

int parse_vol_pair(const char *synopsis, const char *sa, const char *sb,
		   struct vol_ref ref[2])
{
	if (parse_vol_ref(sa, &ref[0]) || parse_vol_ref(sb, &ref[1]))
		return DMCOWCTL_EXIT_USAGE;
	if (strcmp(ref[0].pool, ref[1].pool))
		return usage_err(synopsis, "'%s' and '%s' are in different pools", sa, sb);
	if (!strcmp(ref[0].name, ref[1].name))
		return usage_err(synopsis, "give two different volumes");
	return 0;
}

int usage_err(const char *synopsis, const char *fmt, ...)
{
	va_list ap;

	fputs("dmcowctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: dmcowctl %s\n", synopsis);
	return DMCOWCTL_EXIT_USAGE;
}

void args_begin(void)
{
	optind = 0;	/* glibc: full re-initialisation */
	opterr = 0;	/* we print our own messages */
}

/* The long option ARG ("name" or "name=value") names: exact or unique prefix. */
static const struct option *find_long(const struct option *longopts, const char *arg)
{
	size_t len = strcspn(arg, "=");
	const struct option *o, *hit = NULL;
	int nr = 0;

	for (o = longopts; o && o->name; o++) {
		if (strncmp(o->name, arg, len))
			continue;
		if (strlen(o->name) == len)
			return o;
		hit = o;
		nr++;
	}
	return nr == 1 ? hit : NULL;
}

/* Says precisely what is wrong with the option getopt_long refused. */
static void bad_option(char **argv, const char *shortopts,
		       const struct option *longopts, const char *synopsis)
{
	const char *arg = argv[optind - 1];
	const struct option *o = NULL;
	size_t len;

	/*
	 * optopt is 0 for an unknown long option and the option's value for
	 * a known one missing its argument; argv[optind - 1] is the last
	 * word getopt finished, which is not the culprit inside "-ab".
	 */
	if (!strncmp(arg, "--", 2) && arg[2]) {
		o = find_long(longopts, arg + 2);
		if (optopt && (!o || o->val != optopt))
			arg = NULL;	/* a short option after it */
	} else {
		arg = NULL;
	}
	if (arg) {
		len = strcspn(arg, "=");
		if (!o)
			usage_err(synopsis, "option '%.*s' is unknown", (int)len, arg);
		else if (o->has_arg == no_argument && arg[len])
			usage_err(synopsis, "option '--%s' takes no argument", o->name);
		else
			usage_err(synopsis, "option '--%s' needs an argument", o->name);
	} else if (optopt > 0 && optopt < 128 && isgraph(optopt) && optopt != ':' &&
		   strchr(shortopts, optopt)) {
		usage_err(synopsis, "option '-%c' needs an argument", optopt);
	} else if (optopt > 0 && optopt < 128 && isgraph(optopt)) {
		usage_err(synopsis, "option '-%c' is unknown", optopt);
	} else {
		usage_err(synopsis, "option '%s' is unknown or needs an argument",
			  argv[optind - 1]);
	}
}

int args_next(int argc, char **argv, const char *shortopts,
	      const struct option *longopts, const char *synopsis)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == '?') {
		/* -h/--help anywhere, not only right after the command. */
		if (optopt == 'h' || (!optopt && !strcmp(argv[optind - 1], "--help"))) {
			printf("usage: dmcowctl %s\n", synopsis);
			exit(0);
		}
		bad_option(argv, shortopts, longopts, synopsis);
	}
	return c;
}
