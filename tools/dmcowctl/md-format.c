// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcowctl: the pool as plain data, and its dump formats.
 *
 * Text form (one record per line, fields as key=value; see dmcowctl(8)):
 *
 *   cowtree-dump 1
 *   superblock version=1 chunk_sectors=128 nr_data_chunks=... ...
 *   volume id=1 name="base" size_sectors=... origin=- ...
 *   map VBEGIN DBEGIN LENGTH TIME
 *   end-dump
 *
 * JSON form: the same fields, mappings as [vbegin, dbegin, length, time].
 */
#include "offline.h"
#include "dmcowctl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define DUMP_MAGIC "cowtree-dump"
#define DUMP_VERSION 1

/*----------------------------------------------------------------*/
/* The model */

void md_pool_free(struct md_pool *p)
{
	size_t i;

	for (i = 0; i < p->nr_vols; i++)
		free(p->vols[i].runs);
	free(p->vols);
	memset(p, 0, sizeof(*p));
}

struct md_volume *md_add_volume(struct md_pool *p)
{
	struct md_volume *v;

	if (p->nr_vols == p->vols_cap) {
		size_t cap = p->vols_cap ? p->vols_cap * 2 : 16;

		v = realloc(p->vols, cap * sizeof(*v));
		if (!v)
			return NULL;
		p->vols = v;
		p->vols_cap = cap;
	}
	v = &p->vols[p->nr_vols++];
	memset(v, 0, sizeof(*v));
	v->origin_id = MD_NO_ORIGIN;
	return v;
}

static int add_run(struct md_volume *v, const struct md_run *run)
{
	struct md_run *r;

	if (v->nr_runs == v->runs_cap) {
		size_t cap = v->runs_cap ? v->runs_cap * 2 : 16;

		r = realloc(v->runs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		v->runs = r;
		v->runs_cap = cap;
	}
	v->runs[v->nr_runs++] = *run;
	return 0;
}

int md_add_mapping(struct md_volume *v, uint64_t vchunk, uint64_t dchunk,
		   uint32_t time)
{
	struct md_run *last = v->nr_runs ? &v->runs[v->nr_runs - 1] : NULL;
	struct md_run run = { vchunk, dchunk, 1, time };

	if (last && last->time == time && last->vbegin + last->len == vchunk &&
	    last->dbegin + last->len == dchunk) {
		last->len++;
		return 0;
	}
	return add_run(v, &run);
}

/* Index of the first run that ends after @vchunk (nr_runs if none). */
static size_t run_after(const struct md_volume *v, uint64_t vchunk)
{
	size_t lo = 0, hi = v->nr_runs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->runs[mid].vbegin + v->runs[mid].len <= vchunk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool md_find_mapping(const struct md_volume *v, uint64_t vchunk,
		     uint64_t *dchunk)
{
	size_t i = run_after(v, vchunk);

	if (i == v->nr_runs || v->runs[i].vbegin > vchunk)
		return false;
	*dchunk = v->runs[i].dbegin + (vchunk - v->runs[i].vbegin);
	return true;
}

int md_insert_mapping(struct md_volume *v, uint64_t vchunk, uint64_t dchunk,
		      uint32_t time)
{
	struct md_run run = { vchunk, dchunk, 1, time };
	size_t i = run_after(v, vchunk);
	int r;

	if (i < v->nr_runs && v->runs[i].vbegin <= vchunk)
		return -EEXIST;
	r = add_run(v, &run);	/* grows the array; moved into place below */
	if (r)
		return r;
	memmove(&v->runs[i + 1], &v->runs[i],
		(v->nr_runs - 1 - i) * sizeof(v->runs[0]));
	v->runs[i] = run;
	return 0;
}

uint64_t md_volume_mapped(const struct md_volume *v)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < v->nr_runs; i++)
		n += v->runs[i].len;
	return n;
}

/*----------------------------------------------------------------*/
/* Printing */

static void print_name(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void uuid_hex(const uint8_t *u, char *buf)
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(buf + 2 * i, "%02x", u[i]);
}

static void print_text(FILE *f, const struct md_pool *p)
{
	char uuid[33];
	size_t i, j;

	uuid_hex(p->uuid, uuid);
	fprintf(f, "%s %d\n", DUMP_MAGIC, DUMP_VERSION);
	fprintf(f, "superblock version=%u chunk_sectors=%u nr_data_chunks=%" PRIu64
		" nr_metadata_blocks=%" PRIu64 " txn=%" PRIu64 " user_txn_id=%" PRIu64
		" time=%u flags=%u compat_ro=%" PRIu64 " uuid=%s", p->version,
		p->chunk_sectors, p->nr_data_chunks, p->nr_metadata_blocks, p->txn,
		p->user_txn_id, p->time, p->flags, p->compat_ro, uuid);
	if (p->held_root)
		fprintf(f, " held_root=%" PRIu64 "\n", p->held_root);
	else
		fprintf(f, " held_root=-\n");
	for (i = 0; i < p->nr_vols; i++) {
		const struct md_volume *v = &p->vols[i];

		fprintf(f, "volume id=%" PRIu64 " name=", v->id);
		print_name(f, v->name);
		fprintf(f, " size_sectors=%" PRIu64 " ctime=%" PRIu64, v->size_sectors,
			v->ctime);
		if (v->origin_id == MD_NO_ORIGIN)
			fprintf(f, " origin=-");
		else
			fprintf(f, " origin=%" PRIu64, v->origin_id);
		fprintf(f, " flags=%u snap_time=%u origin_time=%u mapped=%" PRIu64
			" exclusive=%" PRIu64 " written=%" PRIu64 " alloc_hint=%" PRIu64 "\n",
			v->flags, v->snap_time, v->origin_time, v->mapped, v->exclusive,
			v->written, v->alloc_hint);
		for (j = 0; j < v->nr_runs; j++)
			fprintf(f, "map %" PRIu64 " %" PRIu64 " %" PRIu64 " %u\n",
				v->runs[j].vbegin, v->runs[j].dbegin, v->runs[j].len,
				v->runs[j].time);
	}
	fprintf(f, "end-dump\n");
}

static json_object *ju64(uint64_t v)
{
	return json_object_new_int64((int64_t)v);
}

static json_object *volume_json(const struct md_volume *v)
{
	json_object *o = json_object_new_object(), *maps, *m;
	size_t j;

	json_object_object_add(o, "id", ju64(v->id));
	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "size_sectors", ju64(v->size_sectors));
	json_object_object_add(o, "ctime", ju64(v->ctime));
	json_object_object_add(o, "origin", v->origin_id == MD_NO_ORIGIN ? NULL :
			       ju64(v->origin_id));
	json_object_object_add(o, "flags", ju64(v->flags));
	json_object_object_add(o, "snap_time", ju64(v->snap_time));
	json_object_object_add(o, "origin_time", ju64(v->origin_time));
	json_object_object_add(o, "mapped", ju64(v->mapped));
	json_object_object_add(o, "exclusive", ju64(v->exclusive));
	json_object_object_add(o, "written", ju64(v->written));
	json_object_object_add(o, "alloc_hint", ju64(v->alloc_hint));
	maps = json_object_new_array();
	for (j = 0; j < v->nr_runs; j++) {
		m = json_object_new_array();
		json_object_array_add(m, ju64(v->runs[j].vbegin));
		json_object_array_add(m, ju64(v->runs[j].dbegin));
		json_object_array_add(m, ju64(v->runs[j].len));
		json_object_array_add(m, ju64(v->runs[j].time));
		json_object_array_add(maps, m);
	}
	json_object_object_add(o, "mappings", maps);
	return o;
}

static int print_json(FILE *f, const struct md_pool *p)
{
	json_object *o = json_object_new_object(), *sb, *vols;
	char uuid[33];
	size_t i;

	uuid_hex(p->uuid, uuid);
	json_object_object_add(o, "format", json_object_new_string(DUMP_MAGIC));
	json_object_object_add(o, "format_version", ju64(DUMP_VERSION));
	sb = json_object_new_object();
	json_object_object_add(sb, "version", ju64(p->version));
	json_object_object_add(sb, "chunk_sectors", ju64(p->chunk_sectors));
	json_object_object_add(sb, "nr_data_chunks", ju64(p->nr_data_chunks));
	json_object_object_add(sb, "nr_metadata_blocks", ju64(p->nr_metadata_blocks));
	json_object_object_add(sb, "txn", ju64(p->txn));
	json_object_object_add(sb, "user_txn_id", ju64(p->user_txn_id));
	json_object_object_add(sb, "time", ju64(p->time));
	json_object_object_add(sb, "flags", ju64(p->flags));
	json_object_object_add(sb, "compat_ro", ju64(p->compat_ro));
	json_object_object_add(sb, "uuid", json_object_new_string(uuid));
	json_object_object_add(sb, "held_root", p->held_root ? ju64(p->held_root) : NULL);
	json_object_object_add(o, "superblock", sb);
	vols = json_object_new_array();
	for (i = 0; i < p->nr_vols; i++)
		json_object_array_add(vols, volume_json(&p->vols[i]));
	json_object_object_add(o, "volumes", vols);
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	return 0;
}

int md_print(FILE *f, const struct md_pool *p, bool json)
{
	if (json)
		print_json(f, p);
	else
		print_text(f, p);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

/*----------------------------------------------------------------*/
/* Parsing the text form */

struct parser {
	const char *fname;
	unsigned long line;
	struct md_pool *p;
	struct md_volume *vol;
	bool have_sb, done;
};

__attribute__((format(printf, 2, 3)))
static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dmcowctl: %s:%lu: ", ps->fname, ps->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -EINVAL : 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	uint64_t x;

	if (parse_u64(s, &x) || x > UINT32_MAX)
		return -EINVAL;
	*v = (uint32_t)x;
	return 0;
}

/* Unquotes "..." in place (the closing quote must end the token). */
static int unquote(char *s, char *out, size_t len)
{
	size_t n = 0;
	unsigned int x;

	if (*s++ != '"')
		return -EINVAL;
	while (*s && *s != '"') {
		char c = *s++;

		if (c == '\\') {
			if (*s == 'x' && sscanf(s + 1, "%2x", &x) == 1) {
				c = (char)x;
				s += 3;
			} else if (*s) {
				c = *s++;
			}
		}
		if (n + 1 >= len)
			return -EINVAL;
		out[n++] = c;
	}
	if (*s != '"' || s[1])
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

/* Splits the next key=value token; quoted values may contain spaces. */
static char *next_token(char **pos)
{
	char *s = *pos, *start;
	bool quoted = false;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	start = s;
	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '\\' && quoted && s[1])
			s++;
		else if (!quoted && (*s == ' ' || *s == '\t'))
			break;
	}
	if (*s)
		*s++ = '\0';
	*pos = s;
	return start;
}

static int parse_uuid(const char *s, uint8_t *u)
{
	unsigned int x;
	int i;

	if (strlen(s) != 32)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		if (sscanf(s + 2 * i, "%2x", &x) != 1)
			return -EINVAL;
		u[i] = (uint8_t)x;
	}
	return 0;
}

static int sb_field(struct md_pool *p, const char *k, char *v)
{
	if (!strcmp(k, "version"))
		return parse_u32(v, &p->version);
	if (!strcmp(k, "chunk_sectors"))
		return parse_u32(v, &p->chunk_sectors);
	if (!strcmp(k, "nr_data_chunks"))
		return parse_u64(v, &p->nr_data_chunks);
	if (!strcmp(k, "nr_metadata_blocks"))
		return parse_u64(v, &p->nr_metadata_blocks);
	if (!strcmp(k, "txn"))
		return parse_u64(v, &p->txn);
	if (!strcmp(k, "user_txn_id"))
		return parse_u64(v, &p->user_txn_id);
	if (!strcmp(k, "time"))
		return parse_u32(v, &p->time);
	if (!strcmp(k, "flags"))
		return parse_u32(v, &p->flags);
	if (!strcmp(k, "compat_ro"))
		return parse_u64(v, &p->compat_ro);
	if (!strcmp(k, "uuid"))
		return parse_uuid(v, p->uuid);
	if (!strcmp(k, "held_root")) {
		p->held_root = 0;
		return strcmp(v, "-") ? parse_u64(v, &p->held_root) : 0;
	}
	return 0;	/* unknown keys: a newer dump, ignored */
}

static int vol_field(struct md_volume *vol, const char *k, char *v)
{
	if (!strcmp(k, "id"))
		return parse_u64(v, &vol->id);
	if (!strcmp(k, "name"))
		return unquote(v, vol->name, sizeof(vol->name));
	if (!strcmp(k, "size_sectors"))
		return parse_u64(v, &vol->size_sectors);
	if (!strcmp(k, "ctime"))
		return parse_u64(v, &vol->ctime);
	if (!strcmp(k, "origin")) {
		vol->origin_id = MD_NO_ORIGIN;
		return strcmp(v, "-") ? parse_u64(v, &vol->origin_id) : 0;
	}
	if (!strcmp(k, "flags"))
		return parse_u32(v, &vol->flags);
	if (!strcmp(k, "snap_time"))
		return parse_u32(v, &vol->snap_time);
	if (!strcmp(k, "origin_time"))
		return parse_u32(v, &vol->origin_time);
	if (!strcmp(k, "mapped"))
		return parse_u64(v, &vol->mapped);
	if (!strcmp(k, "exclusive"))
		return parse_u64(v, &vol->exclusive);
	if (!strcmp(k, "written"))
		return parse_u64(v, &vol->written);
	if (!strcmp(k, "alloc_hint"))
		return parse_u64(v, &vol->alloc_hint);
	return 0;
}

static int parse_fields(struct parser *ps, char *pos, bool sb)
{
	char *tok, *eq;

	while ((tok = next_token(&pos))) {
		eq = strchr(tok, '=');
		if (!eq)
			return perr(ps, "'%s' is not key=value", tok);
		*eq = '\0';
		if (sb ? sb_field(ps->p, tok, eq + 1) : vol_field(ps->vol, tok, eq + 1))
			return perr(ps, "bad value '%s' for %s", eq + 1, tok);
	}
	return 0;
}

static int parse_map(struct parser *ps, char *pos)
{
	unsigned long long vb, db, len;
	unsigned int t;
	struct md_run run, *last;
	int n = 0;

	if (!ps->vol)
		return perr(ps, "mapping before the first volume");
	if (sscanf(pos, "%llu %llu %llu %u %n", &vb, &db, &len, &t, &n) != 4 ||
	    pos[n] || !len)
		return perr(ps, "a mapping is 'map VBEGIN DBEGIN LENGTH TIME'");
	last = ps->vol->nr_runs ? &ps->vol->runs[ps->vol->nr_runs - 1] : NULL;
	if (last && vb < last->vbegin + last->len)
		return perr(ps, "mappings of volume %" PRIu64 " out of order or overlapping",
			    ps->vol->id);
	run = (struct md_run){ vb, db, len, t };
	return add_run(ps->vol, &run) ? perr(ps, "out of memory") : 0;
}

static int parse_line(struct parser *ps, char *s)
{
	char *kw;

	s[strcspn(s, "\r\n")] = '\0';
	kw = next_token(&s);
	if (!kw || *kw == '#')
		return 0;
	if (ps->done)
		return perr(ps, "text after end-dump");
	if (!strcmp(kw, DUMP_MAGIC))
		return strcmp(s, "1") ? perr(ps, "unsupported dump version '%s'", s) : 0;
	if (!strcmp(kw, "superblock")) {
		ps->have_sb = true;
		return parse_fields(ps, s, true);
	}
	if (!ps->have_sb)
		return perr(ps, "'%s' before the superblock line", kw);
	if (!strcmp(kw, "volume")) {
		ps->vol = md_add_volume(ps->p);
		if (!ps->vol)
			return perr(ps, "out of memory");
		return parse_fields(ps, s, false);
	}
	if (!strcmp(kw, "map"))
		return parse_map(ps, s);
	if (!strcmp(kw, "end-dump")) {
		ps->done = true;
		return 0;
	}
	return perr(ps, "unknown record '%s'", kw);
}

static int parse_text(FILE *f, struct parser *ps)
{
	char *buf = NULL;
	size_t cap = 0;
	int r = 0;

	while (!r && getline(&buf, &cap, f) >= 0) {
		ps->line++;
		r = parse_line(ps, buf);
	}
	free(buf);
	if (!r && !ps->done) {
		ps->line++;
		r = perr(ps, "the dump is truncated (no end-dump line)");
	}
	return r;
}

/*----------------------------------------------------------------*/
/* Parsing the JSON form */

static uint64_t jget(json_object *o, const char *k, bool *ok)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v)) {
		*ok = false;
		return 0;
	}
	if (!v)
		return MD_NO_ORIGIN;	/* null: no origin / no held root */
	return (uint64_t)json_object_get_int64(v);
}

static int json_volume(struct parser *ps, json_object *o)
{
	struct md_volume *v = md_add_volume(ps->p);
	json_object *name, *maps, *m;
	struct md_run run;
	bool ok = true;
	size_t i;

	if (!v)
		return perr(ps, "out of memory");
	v->id = jget(o, "id", &ok);
	if (json_object_object_get_ex(o, "name", &name))
		snprintf(v->name, sizeof(v->name), "%s", json_object_get_string(name));
	v->size_sectors = jget(o, "size_sectors", &ok);
	v->ctime = jget(o, "ctime", &ok);
	v->origin_id = jget(o, "origin", &ok);
	v->flags = (uint32_t)jget(o, "flags", &ok);
	v->snap_time = (uint32_t)jget(o, "snap_time", &ok);
	v->mapped = jget(o, "mapped", &ok);
	if (json_object_object_get_ex(o, "origin_time", &name))
		v->origin_time = (uint32_t)json_object_get_int64(name);
	v->exclusive = jget(o, "exclusive", &ok);
	v->written = jget(o, "written", &ok);
	v->alloc_hint = jget(o, "alloc_hint", &ok);
	if (!ok || !json_object_object_get_ex(o, "mappings", &maps) ||
	    !json_object_is_type(maps, json_type_array))
		return perr(ps, "volume %zu lacks a field", ps->p->nr_vols - 1);
	for (i = 0; i < json_object_array_length(maps); i++) {
		m = json_object_array_get_idx(maps, i);
		if (!json_object_is_type(m, json_type_array) ||
		    json_object_array_length(m) != 4)
			return perr(ps, "volume %" PRIu64 ": a mapping is [vbegin, dbegin, length, time]",
				    v->id);
		run.vbegin = (uint64_t)json_object_get_int64(json_object_array_get_idx(m, 0));
		run.dbegin = (uint64_t)json_object_get_int64(json_object_array_get_idx(m, 1));
		run.len = (uint64_t)json_object_get_int64(json_object_array_get_idx(m, 2));
		run.time = (uint32_t)json_object_get_int64(json_object_array_get_idx(m, 3));
		if (!run.len || (v->nr_runs && run.vbegin < v->runs[v->nr_runs - 1].vbegin +
				 v->runs[v->nr_runs - 1].len))
			return perr(ps, "volume %" PRIu64 ": mappings out of order or empty",
				    v->id);
		if (add_run(v, &run))
			return perr(ps, "out of memory");
	}
	return 0;
}

static int parse_json(FILE *f, struct parser *ps)
{
	json_object *o, *sb, *vols, *u;
	struct md_pool *p = ps->p;
	bool ok = true;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	int r = 0;
	size_t i;

	do {
		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = len + 65537);

			if (!nb) {
				free(buf);
				return perr(ps, "out of memory");
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	buf[len] = '\0';
	o = json_tokener_parse(buf);
	free(buf);
	if (!o || !json_object_object_get_ex(o, "superblock", &sb) ||
	    !json_object_object_get_ex(o, "volumes", &vols) ||
	    !json_object_is_type(vols, json_type_array)) {
		json_object_put(o);
		return perr(ps, "not a JSON dump of dmcowctl");
	}
	p->version = (uint32_t)jget(sb, "version", &ok);
	p->chunk_sectors = (uint32_t)jget(sb, "chunk_sectors", &ok);
	p->nr_data_chunks = jget(sb, "nr_data_chunks", &ok);
	p->nr_metadata_blocks = jget(sb, "nr_metadata_blocks", &ok);
	p->txn = jget(sb, "txn", &ok);
	p->user_txn_id = jget(sb, "user_txn_id", &ok);
	p->time = (uint32_t)jget(sb, "time", &ok);
	p->flags = (uint32_t)jget(sb, "flags", &ok);
	if (json_object_object_get_ex(sb, "compat_ro", &u))
		p->compat_ro = (uint64_t)json_object_get_int64(u);
	p->held_root = 0;
	if (json_object_object_get_ex(sb, "uuid", &u))
		parse_uuid(json_object_get_string(u), p->uuid);
	if (!ok)
		r = perr(ps, "the superblock object lacks a field");
	for (i = 0; !r && i < json_object_array_length(vols); i++)
		r = json_volume(ps, json_object_array_get_idx(vols, i));
	json_object_put(o);
	return r;
}

int md_parse(FILE *f, const char *fname, struct md_pool *p)
{
	struct parser ps = { .fname = fname, .p = p };
	int c, r;

	memset(p, 0, sizeof(*p));
	do {
		c = fgetc(f);
	} while (c != EOF && isspace(c));
	if (c == EOF)
		return perr(&ps, "the dump is empty");
	ungetc(c, f);
	r = c == '{' ? parse_json(f, &ps) : parse_text(f, &ps);
	if (!r && (!p->chunk_sectors || !p->nr_data_chunks))
		r = perr(&ps, "the superblock lacks chunk_sectors or nr_data_chunks");
	if (r)
		md_pool_free(p);
	return r;
}
