/* SPDX-License-Identifier: MIT */
/*
 * What each request of docs/protocol.md does, and its one reply. Every
 * path ends in exactly one reply line, errors included, so that a client
 * can match replies to requests by counting.
 */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void send_buf(struct vmpd *d, struct vmpd_client *c, int fd)
{
	struct vmp__buf *b = &d->scratch;
	int rc = b->oom ? -ENOMEM : vmpd_client_reply(c, b->p, b->len, fd);
	if (rc)
		vmpd_client_close(c, "out of memory for a reply");
}

static void reply_error(struct vmpd *d, struct vmpd_client *c, enum vmpd_verb verb, int err,
			const char *msg)
{
	vmp__buf_reset(&d->scratch);
	vmpd_fmt_error(&d->scratch, verb, err, msg);
	send_buf(d, c, -1);
}

/* The sources refuse a cgroup file that is not a regular file (a FIFO in
 * a fixture tree) with EINVAL: name it, for the client and the log. */
static void bad_file(struct vmpd *d, const char *cgroup, char *msg, size_t cap)
{
	static const char *const names[] = {"memory.stat", "memory.events", "memory.pressure",
					    "memory.pressure_level", "cgroup.event_control"};
	msg[0] = 0;
	if (!d->check_access)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[4400];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s%s%s", d->cgroup_root, strcmp(cgroup, "/") ? cgroup : "",
			 strcmp(cgroup, "/") ? "/" : "", names[i]);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			snprintf(msg, cap, "cgroup %s: %s is not a regular file", cgroup, names[i]);
			vmpd_log(VMPD_LOG_WARNING, "cgroup %s: %s is not a regular file; a subscription refused",
				 cgroup, path);
			return;
		}
	}
}

static void subscribe(struct vmpd *d, struct vmpd_client *c, const struct vmpd_request *req)
{
	char msg[2 * VMPD_LINE_MAX + 256]; /* room for the cgroup and args */
	if (c->nsubs >= VMPD_MAX_SUBS) {
		snprintf(msg, sizeof(msg), "this connection has %u subscriptions, the limit", VMPD_MAX_SUBS);
		reply_error(d, c, req->verb, EMFILE, msg);
		return;
	}
	if (req->debounce && c->uid != 0 && vmpd_uid_debounced(d, c->uid, 0) >= VMPD_UID_DEBOUNCED) {
		snprintf(msg, sizeof(msg),
			 "uid %ld has %u debounced subscriptions on its connections, the limit (each keeps a "
			 "window of its own)",
			 (long)c->uid, VMPD_UID_DEBOUNCED);
		reply_error(d, c, req->verb, EMFILE, msg);
		return;
	}
	if (d->check_access) {
		int rc = vmpd_client_check_access(c, req->cgroup);
		if (rc == -ENOENT || rc == -ENOTDIR) {
			snprintf(msg, sizeof(msg), "no such cgroup: %s", req->cgroup);
			reply_error(d, c, req->verb, ENOENT, msg);
			return;
		}
		if (rc == -EACCES) {
			snprintf(msg, sizeof(msg), "uid %ld may not read cgroup %s", (long)c->uid, req->cgroup);
			reply_error(d, c, req->verb, EACCES, msg);
			return;
		}
		if (rc) {
			snprintf(msg, sizeof(msg), "cgroup %s: %s", req->cgroup, strerror(-rc));
			reply_error(d, c, req->verb, -rc, msg);
			return;
		}
	}
	struct vmpd_csub *cs;
	int rc = vmpd_sub_add(d, c, req, &cs);
	if (rc) {
		int e = -rc;
		switch (e) {
		case ENOENT:
			snprintf(msg, sizeof(msg), "no such cgroup: %s", req->cgroup);
			break;
		case EINVAL:
			bad_file(d, req->cgroup, msg, sizeof(msg));
			if (msg[0])
				break;
			snprintf(msg, sizeof(msg), "cannot watch cgroup %s with %s: %s", req->cgroup, req->args,
				 strerror(e));
			break;
		case ENOTSUP:
			snprintf(msg, sizeof(msg), "the %s source cannot watch cgroup %s", d->source_name,
				 req->cgroup);
			break;
		case EMFILE:
		case ENFILE:
			snprintf(msg, sizeof(msg), "the daemon is out of file descriptors");
			vmpd_log(VMPD_LOG_WARNING, "out of file descriptors for a subscription to %s",
				 req->cgroup);
			break;
		default:
			snprintf(msg, sizeof(msg), "cannot watch cgroup %s with %s: %s", req->cgroup, req->args,
				 strerror(e));
		}
		reply_error(d, c, req->verb, e, msg);
		return;
	}
	if (req->forecast && (rc = vmpd_fc_add(d, req->cgroup, req->forecast_s, vmpd_sub_forecast, cs, &cs->fc))) {
		vmpd_sub_release(d, cs);
		if (rc == -ENOTSUP)
			snprintf(msg, sizeof(msg), "the %s source has no files to forecast from", d->source_name);
		else
			snprintf(msg, sizeof(msg), "cannot forecast cgroup %s: %s", req->cgroup,
				 rc == -ENOENT ? "no such memory cgroup" : strerror(-rc));
		reply_error(d, c, req->verb, -rc, msg);
		return;
	}
	if (cs->fc)
		cs->fc_warn = req->forecast_s > 0 ? req->forecast_s : VMPD_FORECAST_DEFAULT_S;
	struct vmpd_sub_info info = {.id = cs->id,
				     .cgroup = req->cgroup,
				     .args = cs->args,
				     .eventfd = cs->efd >= 0,
				     .stream = cs->stream,
				     .debounce = cs->db_text,
				     .forecast = cs->fc_warn};
	vmp__buf_reset(&d->scratch);
	vmpd_fmt_subscribed(&d->scratch, &info);
	struct vmp__buf *b = &d->scratch;
	rc = b->oom ? -ENOMEM : vmpd_client_reply(c, b->p, b->len, cs->efd);
	if (rc) {
		/* Without its reply (and fd) the subscription is useless. */
		vmpd_sub_release(d, cs);
		if (rc == -EMFILE || rc == -ENFILE)
			snprintf(msg, sizeof(msg), "the daemon is out of file descriptors (to pass the eventfd)");
		else
			snprintf(msg, sizeof(msg), "cannot pass the eventfd: %s", strerror(-rc));
		reply_error(d, c, req->verb, -rc, msg);
	}
}

static void unsubscribe(struct vmpd *d, struct vmpd_client *c, const struct vmpd_request *req)
{
	for (struct vmpd_csub *cs = c->subs; cs; cs = cs->cnext)
		if (cs->id == req->id) {
			vmpd_sub_release(d, cs);
			vmp__buf_reset(&d->scratch);
			vmpd_fmt_unsubscribed(&d->scratch, req->id);
			send_buf(d, c, -1);
			return;
		}
	char msg[96];
	snprintf(msg, sizeof(msg), "this connection has no subscription %llu", (unsigned long long)req->id);
	reply_error(d, c, req->verb, ENOENT, msg);
}

static void list(struct vmpd *d, struct vmpd_client *c)
{
	struct vmp__buf *b = &d->scratch;
	vmp__buf_reset(b);
	vmpd_fmt_list_begin(b);
	bool first = true;
	for (struct vmpd_csub *cs = c->subs; cs; cs = cs->cnext) {
		struct vmpd_sub_info info = {.id = cs->id,
					     .cgroup = vmpd_sub_cgroup(cs),
					     .args = cs->args,
					     .eventfd = cs->efd >= 0,
					     .stream = cs->stream,
					     .debounce = cs->db_text,
					     .forecast = cs->fc_warn,
					     .events = cs->m.events};
		vmpd_fmt_list_item(b, &info, first);
		first = false;
	}
	vmpd_fmt_list_end(b);
	send_buf(d, c, -1);
}

static void status(struct vmpd *d, struct vmpd_client *c)
{
	struct vmpd_status st = {
		.source = d->source_name,
		.uptime_s = vmp__mono_s() - d->t0,
		.clients = d->nclients,
		.subscriptions = d->nsubs,
		.events = d->events,
		.dropped = d->dropped,
	};
	if (c->uid != 0) {
		/* Any local user may connect: it sees its own uid's share of the
		 * daemon, not how many others use it (docs/protocol.md). */
		st = (struct vmpd_status){.source = d->source_name, .uptime_s = st.uptime_s, .scope = "uid"};
		for (struct vmpd_client *o = d->clients; o; o = o->next) {
			if (o->uid != c->uid)
				continue;
			st.clients++;
			st.subscriptions += o->nsubs;
			st.dropped += o->dropped;
			for (struct vmpd_csub *cs = o->subs; cs; cs = cs->cnext)
				st.events += cs->m.events;
		}
	}
	vmp__buf_reset(&d->scratch);
	vmpd_fmt_status(&d->scratch, &st);
	send_buf(d, c, -1);
}

void vmpd_request(struct vmpd *d, struct vmpd_client *c, const char *line, size_t len)
{
	struct vmpd_request *req = malloc(sizeof(*req)); /* 2 KiB: not on the stack */
	char msg[512];
	if (!req) {
		vmpd_client_close(c, "out of memory for a request");
		return;
	}
	int err = vmpd_parse_request(line, len, req, msg, sizeof(msg));
	if (err)
		reply_error(d, c, req->verb, err, msg);
	else
		switch (req->verb) {
		case VMPD_VERB_HELLO:
			vmp__buf_reset(&d->scratch);
			vmpd_fmt_hello(&d->scratch);
			send_buf(d, c, -1);
			break;
		case VMPD_VERB_SUBSCRIBE:
			subscribe(d, c, req);
			break;
		case VMPD_VERB_UNSUBSCRIBE:
			unsubscribe(d, c, req);
			break;
		case VMPD_VERB_LIST:
			list(d, c);
			break;
		case VMPD_VERB_STATUS:
			status(d, c);
			break;
		default:
			break;
		}
	free(req);
}

void vmpd_request_overlong(struct vmpd *d, struct vmpd_client *c)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "request longer than %u bytes; discarded up to its newline",
		 VMPD_LINE_MAX);
	reply_error(d, c, VMPD_VERB_NONE, EMSGSIZE, msg);
}
