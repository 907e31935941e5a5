/*
 * replay.c: traffic-ctl replay: saved webhook bodies through the pipeline
 * a live request takes, one line of outcomes per file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctl/ctl.h"
#include "libtraffic/base/buf.h"
#include "libtraffic/intake/pipeline.h"
#include "libtraffic/base/text.h"

/* The contents of path, at most max bytes (free() it); NULL with msg. */
static char *
slurp(const char *path, size_t max, size_t *len, char *msg, size_t msgsz)
{
    struct tr_buf b;

    tr_buf_init(&b, max);
    if (tr_buf_read_file(&b, path, msg, msgsz) != TR_OK) {
        tr_buf_release(&b);
        return NULL;
    }
    *len = b.len;
    return tr_buf_detach(&b);
}

/* A saved body is JSON when it starts with "{"; a form loses the newline
 * an editor leaves at its end. */
static void
body_type(const char *body, size_t *len, enum tr_body_type *type)
{
    size_t k;

    for (k = 0; k < *len && (body[k] == ' ' || body[k] == '\n'); k++)
        ;
    *type = k < *len && body[k] == '{' ? TR_BODY_JSON : TR_BODY_FORM;
    while (*type == TR_BODY_FORM && *len > 0 &&
           (body[*len - 1] == '\n' || body[*len - 1] == '\r'))
        (*len)--;
}

/* Replays one file: 0, or 1 when it failed. */
static int
replay_file(struct tr_pipeline *p, enum tr_endpoint ep, int dry,
            const char *path)
{
    struct tr_input in = {ep, TR_BODY_FORM, NULL, 0, NULL, NULL};
    struct tr_results res;
    struct timespec ts;
    char at[40], msg[512];
    size_t len = 0;
    char *body = slurp(path, p->cfg->max_body_bytes, &len, msg, sizeof(msg));
    enum tr_err err;

    if (body == NULL) {
        printf("%s: error: %s\n", path, msg);
        return 1;
    }
    body_type(body, &len, &in.type);
    clock_gettime(CLOCK_REALTIME, &ts);
    tr_text_timestamp(at, sizeof(at), ts.tv_sec, ts.tv_nsec);
    in.body = body;
    in.len = len;
    in.received_at = at;
    err = tr_pipeline_process(p, &in, dry, &res, msg, sizeof(msg));
    /* a dry run says so on every line: what it shows was not written */
    if (err != TR_OK)
        printf("%s%s: error: %s\n", dry ? "dry run, nothing written: " : "",
               path, msg);
    else
        printf("%s%s: total=%zu processed=%zu duplicates=%zu skipped=%zu "
               "ignored=%zu errors=%zu leads=%s\n",
               dry ? "dry run, nothing written: " : "", path, res.total,
               res.processed, res.duplicates, res.skipped, res.ignored,
               res.errors, res.summary);
    free(body);
    return err != TR_OK;
}

int
ctl_replay(struct ctl *c)
{
    /* --dry-run, --unified */
    int dry = c->opt[0] != NULL, failed = 0, rc, i;
    enum tr_endpoint ep = c->opt[1] != NULL ? TR_EP_UNIFIED : TR_EP_TRAFFIC;
    struct tr_pipeline p;

    if (!dry && (rc = ctl_require_db(c)) != 0)
        return rc;
    tr_pipeline_init(&p, &c->cfg, &c->rules, c->store);
    for (i = 0; i < c->noperands; i++)
        failed += replay_file(&p, ep, dry, c->operand[i]);
    return failed ? 1 : 0;
}
