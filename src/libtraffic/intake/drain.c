/*
 * drain.c: the spool's entries through the pipeline, oldest first.
 */
#include <stdio.h>
#include <string.h>

#include "base/dir.h"
#include "intake/drain.h"
#include "intake/pipeline.h"
#include "intake/spool.h"
#include "db/store.h"

static void
set_aside(const char *dir, const char *name, const char *why, FILE *out)
{
    char where[4608];

    tr_spool_set_aside(dir, name, why, where, sizeof(where));
    if (out != NULL)
        fprintf(out, "spool: %s: %s\n", name, where);
}

/* An entry whose replay failed, perhaps for its own data: set aside at
 * TR_SPOOL_TRIES; until then it stays and the entries after it go on. */
static enum tr_err
suspect(const char *dir, const char *name, const char *why, FILE *out,
        struct tr_drain_stats *st)
{
    char reason[600];
    int n = tr_spool_tried(dir, name);

    if (out != NULL)
        fprintf(out, "spool: %s: try %d of %d failed: %s\n", name, n,
                TR_SPOOL_TRIES, why);
    if (n < TR_SPOOL_TRIES)
        return TR_OK;
    snprintf(reason, sizeof(reason), "failed %d replays: %s", n, why);
    set_aside(dir, name, reason, out);
    st->corrupt++;
    return TR_OK;
}

/*
 * Replays one entry: TR_OK when it is done with (replayed, or set aside),
 * else the database's error, and the entry stays.
 */
static enum tr_err
replay_one(const char *dir, const char *name, struct tr_pipeline *p, FILE *out,
           struct tr_drain_stats *st, char *msg, size_t msgsz)
{
    struct tr_spool_entry e;
    struct tr_input in;
    struct tr_results res;
    struct tr_buf b;
    char why[512] = "";
    enum tr_err err;

    tr_buf_init(&b, p->limits.max_bytes + TR_SPOOL_HEADER_MAX);
    memset(&in, 0, sizeof(in));
    if (tr_spool_read(dir, name, &b, &e, why, sizeof(why)) != TR_OK ||
        tr_endpoint_parse(e.endpoint, &in.endpoint) != 0) {
        char reason[600];

        snprintf(reason, sizeof(reason), "unreadable entry: %s",
                 why[0] ? why : "an endpoint no longer served");
        if (out != NULL)
            fprintf(out, "spool: %s: %s\n", name, reason);
        set_aside(dir, name, reason, out);
        st->corrupt++;
        tr_buf_release(&b);
        return TR_OK;
    }
    in.type = tr_body_type_of(e.content_type);
    in.body = e.body;
    in.len = e.body_len;
    in.request_id = e.request_id;
    in.received_at = e.received_at;
    err = tr_pipeline_process(p, &in, 0, &res, why, sizeof(why));
    switch (err) {
    case TR_OK:
        tr_spool_remove(dir, name);
        st->replayed++;
        if (out != NULL)
            fprintf(out, "spool: %s: replayed: %s\n", name,
                    res.summary[0] ? res.summary : "no leads");
        break;
    case TR_EDB:
        if (tr_store_data_suspect(p->sale.store)) {
            /* the database answered, and not with a conflict, a timeout or
             * a schema it lacks: perhaps this entry's own fault */
            tr_spool_note_failure(dir, why);
            err = suspect(dir, name, why, out, st);
            break;
        }
        /* fall through */
    case TR_EDBDOWN:
    case TR_ENOMEM:
        /* not its fault: it stays, and so does everything after it */
        tr_fail(msg, msgsz, err, "%s", why);
        break;
    default:
        /* refused for good (TR_EREFUSED: a constraint, a value out of
         * range; or a body no longer accepted): never retried */
        if (out != NULL)
            fprintf(out, "spool: %s: %s\n", name, why);
        set_aside(dir, name, why, out);
        st->corrupt++;
        err = TR_OK;
    }
    tr_buf_release(&b);
    return err;
}

enum tr_err
tr_drain_run(const char *dir, struct tr_pipeline *p, FILE *out,
             struct tr_drain_stats *st, char *msg, size_t msgsz)
{
    struct tr_dir_list list;
    enum tr_err err;
    size_t i;

    memset(st, 0, sizeof(*st));
    if ((err = tr_spool_list(dir, &list, msg, msgsz)) == TR_OK) {
        for (i = 0; i < list.n && err == TR_OK; i++)
            err = replay_one(dir, list.names[i], p, out, st, msg, msgsz);
        st->left = list.n - st->replayed - st->corrupt;
        /* why the entries wait, for the alert and check; gone once none
         * does */
        if (list.n > 0)
            tr_spool_note_failure(dir, err != TR_OK ? msg : NULL);
    }
    tr_dir_list_release(&list);
    return err;
}
