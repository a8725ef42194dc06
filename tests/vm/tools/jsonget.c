// SPDX-License-Identifier: GPL-2.0-only
/*
 * jsonget: check that standard input is one JSON value (json-c's strict
 * parser, nothing after it) and print members of it, for scenarios in a
 * guest that has no other JSON parser.
 *
 *   jsonget [KEY...] < FILE
 *
 * Each KEY is a path of object members separated by '.' (array elements by
 * their index); its value is printed on a line of its own, strings without
 * quotes, anything else as JSON.  Exit 0, 1 if the input is not JSON or a
 * KEY is missing (said on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap), *nb;

	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static json_object *member(json_object *j, const char *path)
{
	char *copy = strdup(path), *save = NULL, *part;
	json_object *cur = j;

	for (part = strtok_r(copy, ".", &save); cur && part; part = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(cur, json_type_array))
			cur = json_object_array_get_idx(cur, strtoul(part, NULL, 10));
		else if (!json_object_object_get_ex(cur, part, &cur))
			cur = NULL;
	}
	free(copy);
	return cur;
}

int main(int argc, char **argv)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *j, *v;
	size_t len;
	char *text = read_all(stdin, &len);
	int i, rc = 0;

	if (!text || !tok)
		return 2;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	j = json_tokener_parse_ex(tok, text, (int)len);
	if (!j || json_tokener_get_error(tok) != json_tokener_success ||
	    text[tok->char_offset + strspn(text + tok->char_offset, " \t\r\n")]) {
		fprintf(stderr, "jsonget: the input is not one JSON value (%s at byte %zu)\n",
			json_tokener_error_desc(json_tokener_get_error(tok)),
			json_tokener_get_parse_end(tok));
		return 1;
	}
	for (i = 1; i < argc; i++) {
		v = member(j, argv[i]);
		if (!v) {
			fprintf(stderr, "jsonget: no '%s' in the input\n", argv[i]);
			rc = 1;
			continue;
		}
		puts(json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
		     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(j);
	json_tokener_free(tok);
	free(text);
	return rc;
}
