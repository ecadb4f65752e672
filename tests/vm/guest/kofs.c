/* SPDX-License-Identifier: MIT */
/*
 * kofs: byte offsets of kernel structure members, read from the running
 * kernel's own type information (/sys/kernel/btf/vmlinux), so that the
 * suite's kprobes follow the kernel's layout instead of hard-coding it.
 *
 *   kofs STRUCT.MEMBER...     one offset per line, in the order asked;
 *                             members of anonymous structs/unions count
 *                             as members of the enclosing struct
 *
 * Exit status: 0; 1 if a struct or member is not found (the message names
 * it); 2 if there is no usable BTF.
 *
 * BTF (include/uapi/linux/btf.h): a header, a type section and a string
 * section. Types are numbered from 1 in order; each is a 12-byte btf_type
 * followed by kind-specific data whose size depends on the kind and vlen.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct btf_header {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};
struct btf_type {
	uint32_t name_off, info, size_or_type;
};
struct btf_member {
	uint32_t name_off, type, offset;
};

enum { K_INT = 1, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF, K_VOLATILE,
       K_CONST, K_RESTRICT, K_FUNC, K_FUNC_PROTO, K_VAR, K_DATASEC, K_FLOAT, K_DECL_TAG,
       K_TYPE_TAG, K_ENUM64 };

static const struct btf_type **types;
static uint32_t ntypes;
static const char *strs;
static uint32_t strs_len;

static const char *name(uint32_t off)
{
	return off < strs_len ? strs + off : "";
}

static unsigned kind(const struct btf_type *t)
{
	return (t->info >> 24) & 0x1f;
}

static unsigned vlen(const struct btf_type *t)
{
	return t->info & 0xffff;
}

static size_t extra(const struct btf_type *t)
{
	switch (kind(t)) {
	case K_INT: case K_VAR: case K_DECL_TAG: return 4;
	case K_ARRAY: return 12;
	case K_STRUCT: case K_UNION: case K_DATASEC: case K_ENUM64: return 12u * vlen(t);
	case K_ENUM: case K_FUNC_PROTO: return 8u * vlen(t);
	default: return 0;
	}
}

/* Follow typedefs and qualifiers to the underlying type. */
static const struct btf_type *resolve(uint32_t id)
{
	while (id && id < ntypes) {
		const struct btf_type *t = types[id];
		unsigned k = kind(t);
		if (k == K_TYPEDEF || k == K_VOLATILE || k == K_CONST || k == K_RESTRICT || k == K_TYPE_TAG)
			id = t->size_or_type;
		else
			return t;
	}
	return NULL;
}

/* Offset in bits of member `m` in struct/union t, searching anonymous
 * members too; -1 if absent. */
static long member_bits(const struct btf_type *t, const char *m)
{
	const struct btf_member *mem = (const struct btf_member *)(t + 1);
	int kflag = (int)(t->info >> 31);
	for (unsigned i = 0; i < vlen(t); i++) {
		long off = kflag ? (long)(mem[i].offset & 0xffffff) : (long)mem[i].offset;
		if (!strcmp(name(mem[i].name_off), m))
			return off;
		if (!*name(mem[i].name_off)) {
			const struct btf_type *sub = resolve(mem[i].type);
			if (sub && (kind(sub) == K_STRUCT || kind(sub) == K_UNION)) {
				long r = member_bits(sub, m);
				if (r >= 0)
					return off + r;
			}
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = getenv("KOFS_BTF") ? getenv("KOFS_BTF") : "/sys/kernel/btf/vmlinux";
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 2;
	}
	size_t cap = 1 << 22, len = 0;
	char *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + len, 1, cap - len, f)) > 0;) {
		len += r;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	const struct btf_header *h = (const void *)buf;
	if (!buf || len < sizeof(*h) || h->magic != 0xeb9f ||
	    (uint64_t)h->hdr_len + h->type_off + h->type_len > len ||
	    (uint64_t)h->hdr_len + h->str_off + h->str_len > len) {
		fprintf(stderr, "kofs: %s: not BTF\n", path);
		return 2;
	}
	const char *tsec = buf + h->hdr_len + h->type_off, *tend = tsec + h->type_len;
	strs = buf + h->hdr_len + h->str_off;
	strs_len = h->str_len;
	size_t tcap = 1 << 16;
	types = malloc(tcap * sizeof(*types));
	ntypes = 1; /* id 0 is void */
	for (const char *p = tsec; p + sizeof(struct btf_type) <= tend;) {
		const struct btf_type *t = (const void *)p;
		if (ntypes == tcap)
			types = realloc(types, (tcap *= 2) * sizeof(*types));
		types[ntypes++] = t;
		p += sizeof(*t) + extra(t);
	}
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		char s[256];
		snprintf(s, sizeof(s), "%s", argv[i]);
		char *dot = strchr(s, '.');
		if (!dot) {
			fprintf(stderr, "kofs: '%s': expected STRUCT.MEMBER\n", argv[i]);
			return 64;
		}
		*dot = 0;
		long bits = -1;
		int found = 0;
		for (uint32_t id = 1; id < ntypes && bits < 0; id++) {
			const struct btf_type *t = types[id];
			if (kind(t) == K_STRUCT && !strcmp(name(t->name_off), s) && vlen(t)) {
				found = 1;
				bits = member_bits(t, dot + 1);
			}
		}
		if (bits < 0 || bits % 8) {
			fprintf(stderr, "kofs: %s: %s\n", argv[i], !found ? "no such struct" : "no such member");
			rc = 1;
			continue;
		}
		printf("%ld\n", bits / 8);
	}
	return rc;
}
